"""The pure diff layer, on canonical Arrow tables made by the real Label Studio ingest.

The property tests generate a dataset, apply random edits to a copy (relabel, move a box,
widen a span, add or drop an annotator's answer, add or remove tasks, change a prediction,
change the config) while logging them, and check that the diff reports exactly the
logged edits, that it mirrors when the sides swap, and that its counts agree with
``annover.stats`` computed independently on both sides.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annover.model import canonical as C
from annover.model import stats as S
import annover.diffing as D
from annover.diffing import (POLICIES, Options, Region, Side, config_structure, config_warnings, diff_config,
                             diff_source, diff_tables, match_regions, row_schema)
from annover.diffing.sources import Source
from annover.model.geometry import box_iou, polygon_iou, shape_of, shape_score, span_overlap
from annover.formats.ingest import from_ls_tasks
from tests.conftest import shared_corpus

SCHEMA = json.loads((Path(__file__).parents[1] / "schemas" / "diff.schema.json").read_text())
CONTROLS = {
    "sentiment": ("Choices", "text", ["positive", "negative", "neutral"]),
    "entities": ("Labels", "text", ["PER", "ORG", "LOC", "MISC"]),
    "objects": ("RectangleLabels", "img", ["cat", "dog", "bird"]),
}
TEXT = "".join(chr(97 + i % 26) for i in range(200))


def config_xml(controls: dict) -> str:
    body = ['<Text name="text" value="$text"/>', '<Image name="img" value="$image"/>']
    for name, (tag, to, labels) in controls.items():
        child = "Choice" if tag == "Choices" else "Label"
        body.append(f'<{tag} name="{name}" toName="{to}">' + "".join(f'<{child} value="{l}"/>' for l in labels)
                    + f"</{tag}>")
    return "<View>" + "".join(body) + "</View>"


def side(tasks: list[dict], config: str | None = None, **kw) -> Side:
    t = from_ls_tasks(copy.deepcopy(tasks), "test", key="data.ext_id", validate=False)
    preds = {}
    if t.predictions.num_rows:
        import pyarrow.compute as pc

        for mv in sorted(set(t.predictions.column("model_version").to_pylist())):
            preds[mv] = t.predictions.filter(pc.equal(t.predictions.column("model_version"), mv))
    return Side(t.tasks, t.annotations, preds, config=config, **kw)


def validate(doc: dict) -> None:
    import jsonschema

    jsonschema.validate(doc, SCHEMA)


# ---------------------------------------------------------------------------
# generating datasets and edits


def choice(label: str, rid: str | None) -> dict:
    r = {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}
    return {"id": rid, **r} if rid else r


def span(slot: int, offset: int, length: int, label: str, rid: str | None) -> dict:
    s = 40 * slot + offset
    r = {"from_name": "entities", "to_name": "text", "type": "labels",
         "value": {"start": s, "end": s + length, "text": TEXT[s:s + length], "labels": [label]}}
    return {"id": rid, **r} if rid else r


def box(cell: int, label: str, rid: str | None) -> dict:
    r = {"from_name": "objects", "to_name": "img", "type": "rectanglelabels",
         "value": {"x": 30 * cell + 2, "y": 10, "width": 20, "height": 20, "rotation": 0, "rectanglelabels": [label]}}
    return {"id": rid, **r} if rid else r


@st.composite
def answers_for(draw, ids: list[int], annotators: list[str], minute: int) -> list[dict]:
    out = []
    for who in annotators:
        ids[0] += 1
        aid = ids[0]
        keep = lambda: draw(st.booleans())  # noqa: E731  region id kept by the tool, or not
        if draw(st.integers(0, 9)) == 0:
            result, cancelled = [], True
        else:
            cancelled = False
            result = []
            if draw(st.booleans()):
                result.append(choice(draw(st.sampled_from(CONTROLS["sentiment"][2])), f"c{aid}" if keep() else None))
            for slot in draw(st.lists(st.integers(0, 3), max_size=2, unique=True)):
                result.append(span(slot, draw(st.integers(5, 15)), draw(st.integers(3, 15)),
                                   draw(st.sampled_from(CONTROLS["entities"][2])), f"s{aid}_{slot}" if keep() else None))
            for cell in draw(st.lists(st.integers(0, 2), max_size=2, unique=True)):
                result.append(box(cell, draw(st.sampled_from(CONTROLS["objects"][2])), f"b{aid}_{cell}" if keep() else None))
        out.append({"id": aid, "completed_by": {"email": who}, "result": result, "was_cancelled": cancelled,
                    "ground_truth": draw(st.integers(0, 5)) == 0, "lead_time": 10.0,
                    "created_at": f"2026-01-01T00:{minute:02d}:00Z",
                    "updated_at": f"2026-01-0{draw(st.integers(1, 9))}T00:{minute:02d}:00Z"})
    return out


ANNOTATORS = ["alice@x", "bob@x", "carol@x"]


@st.composite
def task_list(draw, n_min: int = 4, n_max: int = 12, start: int = 0, ids: list[int] | None = None,
              with_predictions: bool = False) -> list[dict]:
    ids = ids if ids is not None else [start * 100]
    tasks = []
    for i in range(start, start + draw(st.integers(n_min, n_max))):
        who = draw(st.lists(st.sampled_from(ANNOTATORS), max_size=3, unique=True))
        t = {"id": i, "data": {"ext_id": f"t{i:04d}", "text": TEXT, "image": f"/img/{i}.jpg"},
             "annotations": draw(answers_for(ids, who, i % 60)), "predictions": []}
        if with_predictions and draw(st.booleans()):
            t["predictions"].append({"model_version": "m1", "score": 0.5, "result": [
                choice(draw(st.sampled_from(CONTROLS["sentiment"][2])), f"p{i}")]})
        tasks.append(t)
    return tasks


EDITS = ("relabel", "move_box", "widen_span", "add_answer", "drop_answer", "add_task", "remove_task",
         "relabel_prediction")


@st.composite
def edited(draw):
    """(tasks A, config A, tasks B, config B, log of edits)."""
    with_preds = draw(st.booleans())
    a = draw(task_list(with_predictions=with_preds))
    b = copy.deepcopy(a)
    free = list(range(len(b)))  # each edit gets a task of its own
    log: list[tuple] = []
    kinds = draw(st.lists(st.sampled_from(EDITS), min_size=0, max_size=6))
    for kind in kinds:
        if kind == "add_task":
            n = len(a) + len([e for e in log if e[0] == "add_task"])
            new = draw(task_list(n_min=1, n_max=1, start=1000 + n, ids=[10_000 + 100 * n]))[0]
            b.append(new)
            log.append(("add_task", new["data"]["ext_id"], new))
            continue
        if not free:
            continue
        ti = draw(st.sampled_from(free))
        task = b[ti]
        key = task["data"]["ext_id"]
        live = [(ai, x) for ai, x in enumerate(task["annotations"]) if not x["was_cancelled"]]
        if kind == "remove_task":
            log.append(("remove_task", key, a[ti]))
        elif kind == "relabel":
            cands = [(ai, ri) for ai, x in live for ri, r in enumerate(x["result"]) if r["from_name"] == "sentiment"]
            if not cands:
                continue
            ai, ri = draw(st.sampled_from(cands))
            r = task["annotations"][ai]["result"][ri]
            old = r["value"]["choices"][0]
            new = draw(st.sampled_from([l for l in CONTROLS["sentiment"][2] if l != old]))
            r["value"]["choices"] = [new]
            log.append(("relabel", key, task["annotations"][ai]["completed_by"]["email"], ri, old, new))
        elif kind in ("move_box", "widen_span"):
            ctl = "objects" if kind == "move_box" else "entities"
            cands = [(ai, ri) for ai, x in live for ri, r in enumerate(x["result"]) if r["from_name"] == ctl]
            if not cands:
                continue
            ai, ri = draw(st.sampled_from(cands))
            v = task["annotations"][ai]["result"][ri]["value"]
            if kind == "move_box":
                dx = draw(st.integers(1, 4))
                before = (v["x"], v["y"], v["width"], v["height"])
                v["x"] += dx
                log.append((kind, key, task["annotations"][ai]["completed_by"]["email"], ri, before,
                            (v["x"], v["y"], v["width"], v["height"])))
            else:
                d = draw(st.integers(1, 3))
                v["start"] -= d
                v["text"] = TEXT[v["start"]:v["end"]]
                log.append((kind, key, task["annotations"][ai]["completed_by"]["email"], ri))
        elif kind == "add_answer":
            missing = [w for w in ANNOTATORS if w not in {x["completed_by"]["email"] for x in task["annotations"]}]
            if not missing:
                continue
            who = draw(st.sampled_from(missing))
            new = draw(answers_for([50_000 + 10 * ti], [who], 59))[0]
            task["annotations"].append(new)
            log.append(("add_answer", key, who, new))
        elif kind == "drop_answer":
            if not task["annotations"]:
                continue
            ai = draw(st.integers(0, len(task["annotations"]) - 1))
            gone = task["annotations"].pop(ai)
            log.append(("drop_answer", key, gone["completed_by"]["email"], gone))
        elif kind == "relabel_prediction":
            if not task["predictions"]:
                continue
            r = task["predictions"][0]["result"][0]
            old = r["value"]["choices"][0]
            new = draw(st.sampled_from([l for l in CONTROLS["sentiment"][2] if l != old]))
            r["value"]["choices"] = [new]
            log.append(("relabel_prediction", key, old, new))
        free.remove(ti)
    removed = {e[1] for e in log if e[0] == "remove_task"}
    b = [t for t in b if t["data"]["ext_id"] not in removed]
    # the config: one change per control at most
    cfg_a = copy.deepcopy(CONTROLS)
    cfg_b = copy.deepcopy(CONTROLS)
    for ctl in draw(st.lists(st.sampled_from(sorted(CONTROLS)), max_size=2, unique=True)):
        labels = cfg_b[ctl][2]
        what = draw(st.sampled_from(["add", "remove", "rename"]))
        i = draw(st.integers(0, len(labels) - 1))
        if what == "add":
            labels.append(f"NEW_{ctl}")
        elif what == "remove":
            log.append(("config_remove", ctl, labels.pop(i)))
            continue
        else:
            log.append(("config_rename", ctl, labels[i], f"{labels[i]}_v2"))
            labels[i] = f"{labels[i]}_v2"
            continue
        log.append(("config_add", ctl, f"NEW_{ctl}"))
    return a, config_xml(cfg_a), b, config_xml(cfg_b), cfg_b, log


def region_key(table, task_key: str, answer_key: str, position: int, key_col: str = "annotation_key") -> str:
    for r in table.select(["task_key", key_col, "position", "region_key"]).to_pylist():
        if r["task_key"] == task_key and r[key_col] == answer_key and r["position"] == position:
            return r["region_key"]
    raise AssertionError(f"no row {task_key} {answer_key} {position}")


def answer_rows(table, task: dict, change: str) -> list[tuple]:
    """The rows an added or removed task's answers give, from the ingested table."""
    out = []
    keys = {}
    for r in table.select(["task_key", "annotation_key", "region_key"]).to_pylist():
        if r["task_key"] == task["data"]["ext_id"]:
            keys.setdefault(r["annotation_key"], []).append(r["region_key"])
    for ak, rks in keys.items():
        for rk in rks:
            out.append(("annotations", change, task["data"]["ext_id"], ak,
                        rk if change == "removed" else None, rk if change == "added" else None, ()))
    return out


def expected_rows(log: list[tuple], sa: Side, sb: Side) -> tuple[Counter, dict]:
    rows: Counter = Counter()
    counts = Counter()
    for e in log:
        kind = e[0]
        if kind in ("relabel", "move_box", "widen_span"):
            _, key, who, pos = e[:4]
            ak = f"{who}#0"
            kinds = ("relabel",) if kind == "relabel" else ("geometry",)
            rows[("annotations", "changed", key, ak, region_key(sa.annotations, key, ak, pos),
                  region_key(sb.annotations, key, ak, pos), kinds)] += 1
            counts["answers_changed"] += 1
            counts["regions_changed"] += 1
        elif kind in ("add_answer", "drop_answer"):
            _, key, who, ans = e
            ak = f"{who}#0"
            table, change = (sb, "added") if kind == "add_answer" else (sa, "removed")
            counts["answers_" + change] += 1
            n = max(1, len(ans["result"]))
            for pos in range(len(ans["result"])) or [None]:
                rk = "" if pos is None else region_key(table.annotations, key, ak, pos)
                rows[("annotations", change, key, ak, rk if change == "removed" else None,
                      rk if change == "added" else None, ())] += 1
            counts["regions_" + change] += n if ans["result"] else 0
        elif kind in ("add_task", "remove_task"):
            _, key, task = e
            change = "added" if kind == "add_task" else "removed"
            rows[("tasks", change, key, None, None, None, ())] += 1
            for r in answer_rows(sb.annotations if change == "added" else sa.annotations, task, change):
                rows[r] += 1
            if "m1" in sa.predictions and "m1" in sb.predictions:  # else the model version is added / removed
                for p in task["predictions"]:
                    rk = region_key(sa.predictions["m1"], key, "m1#0", 0, "prediction_key")
                    rows[("predictions", change, key, "m1#0", rk, None, ())] += 1
            counts["tasks_" + change] += 1
            counts["answers_" + change] += len(task["annotations"])
            counts["regions_" + change] += sum(len(x["result"]) for x in task["annotations"])
        elif kind == "relabel_prediction":
            _, key, old, new = e
            rk = region_key(sa.predictions["m1"], key, "m1#0", 0, "prediction_key")
            rows[("predictions", "changed", key, "m1#0", rk, rk, ("relabel",))] += 1
    return rows, counts


def structural(rows: list[dict]) -> Counter:
    return Counter((r["table"], r["change"], r["task_key"], r["answer_key"], r["region_key_a"], r["region_key_b"],
                    tuple(r["kinds"])) for r in rows)


def mirror(rows: list[dict]) -> Counter:
    swap = {"added": "removed", "removed": "added", "changed": "changed"}
    return Counter((r["table"], swap[r["change"]], r["task_key"], r["answer_key"], r["region_key_b"], r["region_key_a"],
                    tuple(r["kinds"])) for r in rows)


def label_deltas_from_rows(rows: list[dict]) -> Counter:
    """Per (control, label): regions gained minus lost, as the rows say."""
    out: Counter = Counter()
    for r in rows:
        if r["table"] != "annotations":
            continue
        for lab in r["labels_b"] or []:
            out[(r["from_name"], lab)] += 1
        for lab in r["labels_a"] or []:
            out[(r["from_name"], lab)] -= 1
    return out


def label_deltas_from_stats(a: dict, b: dict) -> Counter:
    out: Counter = Counter()
    for ctl, labs in b["labels"].items():
        for lab, n in labs.items():
            out[(ctl, lab)] += n
    for ctl, labs in a["labels"].items():
        for lab, n in labs.items():
            out[(ctl, lab)] -= n
    return out


# ---------------------------------------------------------------------------
# the properties


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(edited())
def test_diff_reports_exactly_the_edits(case):
    tasks_a, cfg_a, tasks_b, cfg_b, cfg_b_controls, log = case
    sa, sb = side(tasks_a, cfg_a), side(tasks_b, cfg_b)
    res = diff_tables(sa, sb)
    rows = res.rows.to_pylist()
    want, counts = expected_rows(log, sa, sb)
    assert structural(rows) == want
    # the path of parts that store row hashes gives the very same diff
    stored = diff_tables(sa, sb, stored_hashes=True)
    assert stored.rows.to_pylist() == rows
    assert stored.summary == res.summary
    from unittest import mock

    import annover.diffing.answers as answers

    # the tasks that differ split in parts diffed on threads (as many tasks do): the same diff
    with mock.patch.object(answers, "PARTITION_TASKS", 1), mock.patch.object(answers, "PARTS", 3):
        parted = diff_tables(sa, sb, stored_hashes=True)
    assert parted.rows.to_pylist() == rows
    assert parted.summary == res.summary
    # ... and with each part's range of keys read whole (as when most tasks are touched)
    with mock.patch.object(answers, "PARTITION_TASKS", 1), mock.patch.object(answers, "PARTS", 3), \
            mock.patch.object(answers, "WHOLE_RANGE_SHARE", 0):
        ranged = diff_tables(sa, sb, stored_hashes=True)
    assert ranged.rows.to_pylist() == rows
    assert ranged.summary == res.summary
    # ... and in parts of a few rows each (more parts than threads), none of which keeps its
    # rows: the row table, asked for after the diff (its connection closed), reads them again
    with mock.patch.object(answers, "PARTITION_TASKS", 1), mock.patch.object(answers, "PART_ROWS", 2), \
            mock.patch.object(answers, "KEEP_ROWS", 0):
        reread = diff_tables(sa, sb, stored_hashes=True)
    assert reread.summary == res.summary
    assert reread.rows.to_pylist() == rows
    # regions paired by control a column at a time pair as region-by-region matching pairs them
    touched = answers.touched
    with mock.patch.object(answers, "_by_control", lambda ua, bt, mrows, out: (None, mrows)):
        one_by_one = diff_tables(sa, sb)
    assert one_by_one.rows.to_pylist() == rows
    assert one_by_one.summary == res.summary
    # tables read from files take DuckDB's join first (not the pairing in memory): the same diff
    joined: list = []
    with mock.patch.object(Source, "in_memory", lambda self: None), mock.patch.object(
            answers, "touched", lambda *x: (joined.append(1), touched(*x))[1]):
        by_join = diff_tables(sa, sb)
    assert joined
    assert by_join.rows.to_pylist() == rows
    assert by_join.summary == res.summary

    s = res.summary
    assert s["tasks"]["added"] == counts["tasks_added"]
    assert s["tasks"]["removed"] == counts["tasks_removed"]
    assert s["annotations"]["added"] == counts["answers_added"]
    assert s["annotations"]["removed"] == counts["answers_removed"]
    assert s["annotations"]["changed"] == counts["answers_changed"]
    assert s["regions"]["added"] == counts["regions_added"]
    assert s["regions"]["removed"] == counts["regions_removed"]
    assert s["regions"]["changed"] == counts["regions_changed"]

    # every relabel shows as old -> new, every moved box with its IoU, every widened span
    for e in log:
        if e[0] == "relabel":
            hits = [r for r in rows if r["task_key"] == e[1] and "relabel" in r["kinds"] and r["table"] == "annotations"]
            assert [r["description"] for r in hits] == [f"{e[4]} -> {e[5]}"]
            assert hits[0]["labels_a"] == [e[4]] and hits[0]["labels_b"] == [e[5]]
        if e[0] == "move_box":
            (hit,) = [r for r in rows if r["task_key"] == e[1] and "geometry" in r["kinds"]]
            iou = naive_iou(e[4], e[5])
            assert hit["score"] == pytest.approx(iou, abs=1e-6)
            # named by the label it kept (which of the image's boxes moved)
            assert hit["labels_a"] == hit["labels_b"] and hit["labels_b"]
            assert hit["description"] == f"{', '.join(hit['labels_b'])} box moved, IoU {iou:.2f}"
            assert hit["match"] == ("key" if hit["region_key_a"] == hit["region_key_b"] else "iou")
        if e[0] == "widen_span":
            (hit,) = [r for r in rows if r["task_key"] == e[1] and "geometry" in r["kinds"]]
            assert hit["description"].startswith(f"{', '.join(hit['labels_b'])} span widened")
            assert hit["match"] == ("key" if hit["region_key_a"] == hit["region_key_b"] else "overlap")

    # config: exactly the logged label changes; a warning for each used label the config lacks
    c = s["config"]
    assert c["changed"] == (cfg_a != cfg_b)
    want_renamed = {e[1]: [{"from": e[2], "to": e[3]}] for e in log if e[0] == "config_rename"}
    assert c["labels_renamed"] == want_renamed
    assert c["labels_removed"] == {e[1]: [e[2]] for e in log if e[0] == "config_remove"}
    assert c["labels_added"] == {e[1]: [e[2]] for e in log if e[0] == "config_add"}
    assert not c["controls_added"] and not c["controls_removed"] and not c["controls_renamed"]
    used = {(r["from_name"], lab) for t in tasks_b for x in t["annotations"] if not x["was_cancelled"]
            for r in x["result"] for lab in (r["value"].get("choices") or r["value"].get("labels")
                                              or r["value"].get("rectanglelabels") or [])}
    lacking = sorted((ctl, lab) for ctl, lab in used if lab not in cfg_b_controls[ctl][2])
    assert len(s["warnings"]) == len(lacking)
    for ctl, lab in lacking:
        assert any(repr(lab) in w and repr(ctl) in w for w in s["warnings"])

    # counts agree with the stats of both sides (computed independently)
    st_a = S.compute(sa.tasks, sa.annotations, sa.predictions)
    st_b = S.compute(sb.tasks, sb.annotations, sb.predictions)
    for area, stat in (("tasks", "tasks"), ("annotations", "annotations"), ("regions", "regions"),
                       ("skipped", "skipped")):
        assert s[area]["before"] == st_a[stat] and s[area]["after"] == st_b[stat]
        assert s[area]["after"] - s[area]["before"] == s[area]["added"] - s[area]["removed"]
    for name, d in s["annotators"].items():
        assert d["after"] - d["before"] == d["added"] - d["removed"]
    assert +label_deltas_from_rows(rows) == +label_deltas_from_stats(st_a, st_b)
    assert -label_deltas_from_rows(rows) == -label_deltas_from_stats(st_a, st_b)

    # swapping the sides mirrors everything
    back = diff_tables(sb, sa)
    assert structural(back.rows.to_pylist()) == mirror(rows)
    sb_ = back.summary
    for area in ("tasks", "annotations", "regions", "skipped"):
        assert sb_[area]["added"] == s[area]["removed"] and sb_[area]["removed"] == s[area]["added"]
        assert sb_[area]["before"] == s[area]["after"]
    assert sb_["annotations"]["changed"] == s["annotations"]["changed"]
    assert sb_["regions"]["changed"] == s["regions"]["changed"]
    assert back.identical == res.identical == (not rows and cfg_a == cfg_b)
    validate(res.to_json(rows=True))


def naive_iou(a, b):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    return ix * iy / (aw * ah + bw * bh - ix * iy)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(task_list(with_predictions=True))
def test_diff_of_a_version_with_itself_is_empty(tasks):
    s = side(tasks, config_xml(CONTROLS))
    res = diff_tables(s, side(list(reversed(tasks)), config_xml(CONTROLS)), transitions=True)
    assert res.identical
    assert res.rows.num_rows == 0
    assert not res  # a DiffResult is falsy when empty
    summ = res.summary
    for area in ("tasks", "annotations", "regions", "skipped"):
        assert summ[area]["added"] == summ[area]["removed"] == 0
    assert all(c["from"] == c["to"] for cells in res.transitions["controls"].values() for c in cells)
    validate(res.to_json(rows=True))


# ---------------------------------------------------------------------------
# transitions and agreement against a plain-Python oracle of the policies


def oracle_resolve(tasks: list[dict], policy: str, regions: bool = False) -> dict[tuple[str, str], Any]:
    """(task key, control) -> the label set of the answer the policy picks; ``regions``: the labels of
    that answer's regions, one entry a region."""
    out = {}
    for t in tasks:
        per_ctl: dict[str, list[tuple]] = {}
        for x in t["annotations"]:
            if x["was_cancelled"]:
                continue
            who = x["completed_by"]["email"]
            labs: dict[str, set] = {}
            each: dict[str, list[str]] = {}
            for r in x["result"]:
                v = r["value"]
                ls = v.get("choices") or v.get("labels") or v.get("rectanglelabels")
                if ls:
                    labs.setdefault(r["from_name"], set()).update(ls)
                    each.setdefault(r["from_name"], []).append(", ".join(sorted(ls)))
            for ctl, ls in labs.items():
                ts = x.get("updated_at") or x.get("created_at") or ""
                per_ctl.setdefault(ctl, []).append((", ".join(sorted(ls)), x["ground_truth"], ts, f"{who}#0",
                                                    each[ctl]))
        for ctl, answers in per_ctl.items():
            votes = Counter(a[0] for a in answers)
            if policy == "latest":
                key = lambda a: (a[2], a[3])  # noqa: E731
            elif policy == "majority":
                key = lambda a: (votes[a[0]], a[2], a[3])  # noqa: E731
            else:
                key = lambda a: (a[1], votes[a[0]], a[2], a[3])  # noqa: E731
            out[(t["data"]["ext_id"], ctl)] = max(answers, key=key)[4 if regions else 0]
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(edited(), st.sampled_from(POLICIES), st.booleans())
def test_transitions_match_an_oracle(case, policy, stored_hashes):
    """Every task's labels resolved on both sides, by a plain-Python oracle, give the transitions
    the diff counts (resolving A's labels only for the tasks it found touched, by either path). A region
    control counts regions paired by shape: each side's labels, region by region, are its margins."""
    tasks_a, cfg_a, tasks_b, cfg_b, _, _ = case
    res = diff_tables(side(tasks_a, cfg_a), side(tasks_b, cfg_b), transitions=True, policy=policy,
                      stored_hashes=stored_hashes)
    ra, rb = oracle_resolve(tasks_a, policy), oracle_resolve(tasks_b, policy)
    keys_a = {t["data"]["ext_id"] for t in tasks_a}
    keys_b = {t["data"]["ext_id"] for t in tasks_b}
    regions = set(res.transitions.get("regions", []))
    controls = ({c for _, c in ra} | {c for _, c in rb}) - regions
    want: dict[str, Counter] = {}
    for ctl in controls:
        for k in keys_a | keys_b:
            f = ra.get((k, ctl), "(none)" if k in keys_a else "(no task)")
            t = rb.get((k, ctl), "(none)" if k in keys_b else "(no task)")
            want.setdefault(ctl, Counter())[(f, t)] += 1
    got = {ctl: Counter({(c["from"], c["to"]): c["count"] for c in cells})
           for ctl, cells in res.transitions["controls"].items()}
    assert {c: got.get(c) for c in controls} == want
    each_a, each_b = oracle_resolve(tasks_a, policy, regions=True), oracle_resolve(tasks_b, policy, regions=True)
    for ctl in regions:
        side_a = Counter(lab for (_, c), labs in each_a.items() if c == ctl for lab in labs)
        side_b = Counter(lab for (_, c), labs in each_b.items() if c == ctl for lab in labs)
        margin_a, margin_b = Counter(), Counter()
        for (f, t), n in got.get(ctl, Counter()).items():
            assert (f, t) != ("(none)", "(none)")
            margin_a[f] += n if f not in ("(none)", "(no task)") else 0
            margin_b[t] += n if t not in ("(none)", "(no task)") else 0
        assert +margin_a == side_a and +margin_b == side_b, ctl
    assert res.transitions["policy"] == policy


class _Whole:
    """Whole tables for a diff of sides that hold only the tasks that may differ (as a dry run's)."""

    def __init__(self, a: Side, b: Side) -> None:
        self.sides = {"a": a, "b": b}

    def tasks(self, s: str) -> Source:
        return Source("tasks", self.sides[s].tasks)

    def annotations(self, s: str) -> Source:
        return Source("annotations", self.sides[s].annotations)

    def predictions(self, s: str, model_version: str) -> Source:
        return Source("predictions", self.sides[s].predictions[model_version])

    def same_agreement_input(self, model_version: str) -> bool:
        return False


@pytest.mark.parametrize("stored_hashes", [False, True])
def test_transitions_resolve_a_side_only_for_the_tasks_that_differ(stored_hashes):
    """A task with the same answers on both sides has the same label on both: its transition is
    counted from B's answers alone. The whole tables here say otherwise for t2 (A's says
    negative, but the compared sides agree on it): the count shows B's label on both sides."""
    def task(i, *labels):
        return {"data": {"ext_id": f"t{i}", "text": "x"}, "annotations": [
            {"completed_by": {"email": f"w{k}@x"}, "result": [choice(lab, None)]} for k, lab in enumerate(labels)]}

    a = [task(1, "positive", "positive"), task(2, "neutral", "neutral"), task(3, "neutral")]
    b = [task(1, "negative", "negative"), task(2, "neutral", "neutral"), task(3, "neutral")]
    whole_a = [a[0], task(2, "negative", "negative"), a[2]]
    res = diff_tables(side(a), side(b), transitions=True, stored_hashes=stored_hashes,
                      whole=_Whole(side(whole_a), side(b)))
    assert res.transitions["controls"]["sentiment"] == [
        {"from": "neutral", "to": "neutral", "count": 2}, {"from": "positive", "to": "negative", "count": 1}]


def test_policies_differ_where_they_should():
    """One task, three answers: two say cat (older), one says dog (newest, ground truth or not)."""
    def ans(who, label, day, gt=False):
        return {"completed_by": {"email": who}, "result": [choice(label, None)], "was_cancelled": False,
                "ground_truth": gt, "updated_at": f"2026-01-0{day}T00:00:00Z"}

    base = [{"data": {"ext_id": "t1", "text": "x"}, "annotations": [ans("a@x", "positive", 1)]}]
    for gt_on, want in ((False, {"latest": "negative", "majority": "positive", "ground-truth": "positive"}),
                        (True, {"latest": "negative", "majority": "positive", "ground-truth": "negative"})):
        after = [{"data": {"ext_id": "t1", "text": "x"}, "annotations": [
            ans("a@x", "positive", 1), ans("b@x", "positive", 2), ans("c@x", "negative", 3, gt=gt_on)]}]
        for policy, label in want.items():
            res = diff_tables(side(base), side(after), transitions=True, policy=policy)
            assert res.transitions["controls"]["sentiment"] == [{"from": "positive", "to": label, "count": 1}]


def test_prediction_agreement_before_and_after():
    def task(i, gold, pred):
        return {"data": {"ext_id": f"t{i}", "text": "x"},
                "annotations": [{"completed_by": {"email": "a@x"}, "result": [choice(gold, None)]}],
                "predictions": [{"model_version": "m1", "score": 0.9, "result": [choice(pred, None)]},
                                {"model_version": "m1", "score": 0.1, "result": [choice(gold, None)]}]}

    a = [task(0, "positive", "positive"), task(1, "negative", "positive"), task(2, "neutral", "neutral"),
         task(3, "neutral", "positive")]
    b = copy.deepcopy(a)
    b[1]["annotations"][0]["result"][0]["value"]["choices"] = ["positive"]  # the label moves to the prediction
    res = diff_tables(side(a), side(b))
    ag = res.summary["predictions"]["model_versions"]["m1"]["agreement"]
    # the top-scored prediction (0.9) counts, the other one not
    assert (ag["before"], ag["after"], ag["pairs_before"], ag["pairs_after"]) == (0.5, 0.75, 4, 4)
    assert res.summary["predictions"]["model_versions"]["m1"]["status"] == "unchanged"
    c = [t for t in copy.deepcopy(b)]
    for t in c:
        t["predictions"] = []
    res2 = diff_tables(side(b), side(c))
    assert res2.summary["predictions"]["model_versions_removed"] == ["m1"]
    assert res2.summary["predictions"]["model_versions"]["m1"]["agreement"]["after"] is None


@pytest.mark.parametrize("policy", POLICIES)
def test_prediction_agreement_of_several_models_each_against_the_labels_resolved(policy):
    """Three model versions against the same answers, each side's labels resolved once for all of
    them: each model's agreement is that of the labels resolved here by the policy's own rule (the
    newest answer; the most given label, the newest among equals; the ground truth, else the
    majority), before and after."""
    def ans(who, label, day, gt=False):
        return {"completed_by": {"email": who}, "result": [choice(label, None)], "was_cancelled": False,
                "ground_truth": gt, "updated_at": f"2026-01-0{day}T00:00:00Z"}

    names = ["positive", "negative", "neutral"]

    def tasks(shift):
        out = []
        for i in range(12):  # two older answers (the same label in half the tasks), the newest another;
            # the newest is the ground truth in a third of them: latest, majority and ground-truth differ
            labels = [names[i % 3], names[(i + i % 2) % 3], names[(i + 1 + shift) % 3]]
            votes = [(f"u{k}@x", labels[k], k + 1, k == 2 and i % 3 == 0) for k in range(3)]
            preds = [{"model_version": f"m{m}", "score": 0.5, "result": [choice(names[(i * m + shift) % 3], None)]}
                     for m in range(1, 4)]
            out.append({"data": {"ext_id": f"t{i}", "text": "x"}, "annotations": [ans(*v) for v in votes],
                        "predictions": preds, "votes": votes})
        return out

    def resolve(votes):
        newest = max(votes, key=lambda v: v[2])[1]
        counts = Counter(v[1] for v in votes)
        top = max(counts.values())
        majority = max((v for v in votes if counts[v[1]] == top), key=lambda v: v[2])[1]
        gt = [v for v in votes if v[3]]
        return {"latest": newest, "majority": majority,
                "ground-truth": max(gt, key=lambda v: v[2])[1] if gt else majority}[policy]

    a, b = tasks(0), tasks(1)
    got = diff_tables(side([{k: v for k, v in t.items() if k != "votes"} for t in a]),
                      side([{k: v for k, v in t.items() if k != "votes"} for t in b]), policy=policy)
    for m in range(1, 4):
        ag = got.summary["predictions"]["model_versions"][f"m{m}"]["agreement"]
        for when, ts in (("before", a), ("after", b)):
            same = sum(resolve(t["votes"]) == t["predictions"][m - 1]["result"][0]["value"]["choices"][0]
                       for t in ts)
            assert ag[when] == round(same / len(ts), 6) and ag[f"pairs_{when}"] == len(ts), (m, when)


def test_a_model_version_added_or_removed_counts_its_predictions_and_regions():
    def task(i, preds):
        return {"data": {"ext_id": f"t{i}", "text": "x"},
                "annotations": [{"completed_by": {"email": "a@x"}, "result": [choice("positive", None)]}],
                "predictions": preds}

    def pred(mv, *labels):
        return {"model_version": mv, "score": 0.5, "result": [span(k, 0, 3, lab, None) for k, lab in enumerate(labels)]}

    a = [task(0, [pred("old", "PER", "LOC"), pred("m1", "PER")]), task(1, [pred("old", "PER")])]
    b = [task(0, [pred("new", "PER", "LOC", "PER"), pred("m1", "PER")]), task(1, [])]
    for fwd, (x, y) in ((True, (a, b)), (False, (b, a))):
        mvs = diff_tables(side(x), side(y)).summary["predictions"]["model_versions"]
        gone, came = ("old", "new") if fwd else ("new", "old")
        n_gone, r_gone, n_came, r_came = (2, 3, 1, 3) if fwd else (1, 3, 2, 3)
        assert mvs[gone]["status"] == "removed" and mvs[came]["status"] == "added"
        assert mvs[gone]["predictions"] == {"added": 0, "removed": n_gone, "changed": 0}
        assert mvs[came]["predictions"] == {"added": n_came, "removed": 0, "changed": 0}
        for mv in (gone, came):  # after - before = added - removed, as for annotations
            r = mvs[mv]["regions"]
            assert r["after"] - r["before"] == r["added"] - r["removed"]
        assert (mvs[gone]["regions"]["removed"], mvs[came]["regions"]["added"]) == (r_gone, r_came)
        assert mvs["m1"]["predictions"] == {"added": 0, "removed": 0, "changed": 0}


def test_a_region_s_labels_in_another_order_are_no_relabel():
    """A box labeled ["Car", "Road"] then ["Road", "Car"] (Label Studio keeps the order of
    clicks) was counted as a relabel 'Car, Road -> Road, Car' while the label counts did not
    move: a changed region worded 'labels reordered', no relabel; a real relabel still is one,
    with a region id (paired by key) or without (paired by shape)."""
    def task(labels, rid):
        r = box(0, "x", rid)
        r["value"]["rectanglelabels"] = labels
        return {"data": {"ext_id": "t0", "image": "a.png"},
                "annotations": [{"completed_by": {"email": "a@x"}, "result": [r]}]}

    for rid in ("r1", None):
        d = diff_tables(side([task(["Car", "Road"], rid)]), side([task(["Road", "Car"], rid)]))
        assert d.summary["relabels"] == [] and d.summary["regions"]["changed"] == 1, (rid, d.summary)
        rows = d.rows.to_pylist()
        assert [(r["kinds"], r["description"]) for r in rows] == [(["value"], "labels reordered: Car, Road -> Road, Car")]
        d2 = diff_tables(side([task(["Car", "Road"], rid)]), side([task(["Road", "Bus"], rid)]))
        assert len(d2.summary["relabels"]) == 1 and d2.rows.to_pylist()[0]["kinds"] == ["relabel"], rid


# ---------------------------------------------------------------------------
# region matching and descriptions


def row(rk, value, frm="objects", labels=None):
    return Region(rk, frm, labels, json.dumps(value))


def test_moved_boxes_pair_by_best_iou_and_far_moves_do_not():
    a = [row("~1", {"x": 0, "y": 0, "width": 10, "height": 10}), row("~2", {"x": 50, "y": 50, "width": 10, "height": 10})]
    b = [row("~3", {"x": 51, "y": 50, "width": 10, "height": 10}), row("~4", {"x": 1, "y": 1, "width": 10, "height": 10}),
         row("~5", {"x": 80, "y": 0, "width": 10, "height": 10})]
    pairs, ra, rb = match_regions(a, b, Options())
    assert {(x.region_key, y.region_key, how) for x, y, how, _ in pairs} == {("~1", "~4", "iou"), ("~2", "~3", "iou")}
    assert [r.region_key for r in rb] == ["~5"] and ra == []
    # a stricter threshold leaves the (0,0)->(1,1) move (IoU 0.68) unmatched
    strict = Options(iou_threshold=0.7)
    pairs, ra, rb = match_regions(a, b, strict)
    assert {(x.region_key, y.region_key) for x, y, _, _ in pairs} == {("~2", "~3")}
    assert box_iou((0, 0, 10, 10), (1, 1, 10, 10)) < 0.7 < box_iou((50, 50, 10, 10), (51, 50, 10, 10))


def test_matching_is_symmetric_and_respects_controls():
    a = [row("~1", {"start": 0, "end": 10}, "ner"), row("~2", {"start": 20, "end": 30}, "ner"),
         row("~3", {"choices": ["x"]}, "cls")]
    b = [row("~4", {"start": 18, "end": 30}, "ner"), row("~5", {"start": 0, "end": 4}, "ner"),
         row("~6", {"choices": ["y"]}, "cls"), row("~7", {"start": 0, "end": 10}, "other")]
    fwd, _, _ = match_regions(a, b, Options())
    back, _, _ = match_regions(b, a, Options())
    assert {(x.region_key, y.region_key) for x, y, _, _ in fwd} == {(y.region_key, x.region_key) for x, y, _, _ in back}
    assert {(x.region_key, y.region_key, how) for x, y, how, _ in fwd} == {
        ("~1", "~5", "overlap"), ("~2", "~4", "overlap"), ("~3", "~6", "control")}
    # a renamed control pairs its regions with the new name's
    moved, _, rest = match_regions([row("~1", {"start": 0, "end": 10}, "old")], [row("~2", {"start": 0, "end": 9}, "new")],
                                   Options(), {"old": "new"})
    assert len(moved) == 1 and rest == []


def test_geometry_implementations_agree():
    boxes = [((0, 0, 10, 10), (5, 5, 10, 10)), ((0, 0, 10, 20), (2, 3, 5, 5)), ((0, 0, 1, 1), (3, 3, 1, 1))]
    for a, b in boxes:
        pa_ = [(a[0], a[1]), (a[0] + a[2], a[1]), (a[0] + a[2], a[1] + a[3]), (a[0], a[1] + a[3])]
        pb_ = [(b[0], b[1]), (b[0] + b[2], b[1]), (b[0] + b[2], b[1] + b[3]), (b[0], b[1] + b[3])]
        assert polygon_iou(pa_, pb_) == pytest.approx(box_iou(a, b), abs=1e-9)
        assert polygon_iou(pb_[::-1], pa_) == pytest.approx(box_iou(a, b), abs=1e-9)
    # a non-convex L shape: exact IoU (shapely), whichever side is which
    l_shape = [(0, 0), (10, 0), (10, 5), (5, 5), (5, 10), (0, 10)]
    square = [(0, 0), (5, 0), (5, 5), (0, 5)]
    l_rev = [(0, 0), (0, 10), (5, 10), (5, 5), (10, 5), (10, 0)]
    assert polygon_iou(l_shape, square) == pytest.approx(25 / 75, abs=1e-12)
    assert polygon_iou(l_shape, l_rev) == pytest.approx(1.0, abs=1e-12)
    assert polygon_iou(square, l_shape) == polygon_iou(l_shape, square)
    # a rotated rectangle against itself, and rotation by 90 degrees about its corner
    r0 = shape_of({"x": 10, "y": 10, "width": 10, "height": 10, "rotation": 0})
    r90 = shape_of({"x": 20, "y": 10, "width": 10, "height": 10, "rotation": 90})
    assert shape_score(r0, r90) == pytest.approx(1.0, abs=1e-6)
    assert span_overlap((0, 10), (2, 5)) == 1.0 and span_overlap((0, 10), (5, 15)) == 0.5
    assert span_overlap((0, 10), (10, 20)) == 0.0


@pytest.mark.parametrize("before, after, words", [
    ({"start": 5, "end": 9}, {"start": 3, "end": 9}, "span widened 5-9 -> 3-9"),
    # a region that kept its labels is named by them: which of an image's boxes or a text's spans
    ({"start": 5, "end": 9, "labels": ["PER"]}, {"start": 3, "end": 9, "labels": ["PER"]},
     "PER span widened 5-9 -> 3-9"),
    ({"x": 0, "y": 0, "width": 10, "height": 10, "rectanglelabels": ["car"]},
     {"x": 1, "y": 0, "width": 10, "height": 10, "rectanglelabels": ["car"]}, f"car box moved, IoU {90 / 110:.2f}"),
    ({"start": 5, "end": 9}, {"start": 6, "end": 9}, "span narrowed 5-9 -> 6-9"),
    ({"start": 5, "end": 9}, {"start": 7, "end": 12}, "span moved 5-9 -> 7-12"),
    ({"x": 0, "y": 0, "width": 10, "height": 10}, {"x": 0, "y": 0, "width": 12, "height": 10},
     f"box resized, IoU {100 / 120:.2f}"),
    ({"x": 0, "y": 0, "width": 10, "height": 10}, {"x": 1, "y": 0, "width": 12, "height": 10},
     f"box moved and resized, IoU {90 / (100 + 120 - 90):.2f}"),
    ({"x": 0, "y": 0, "width": 10, "height": 10, "rotation": 0}, {"x": 0, "y": 0, "width": 10, "height": 10,
                                                                  "rotation": 90}, "box rotated, IoU 0.00"),
    # right triangles of legs 10, one shifted by 1: they share a triangle of legs 9
    ({"points": [[0, 0], [10, 0], [0, 10]]}, {"points": [[1, 0], [11, 0], [1, 10]]},
     f"polygon moved, IoU {40.5 / (50 + 50 - 40.5):.2f}"),
    ({"text": ["a cat"]}, {"text": ["a dog"]}, 'text ["a cat"] -> ["a dog"]'),
])
def test_descriptions(before, after, words):
    def one(value):
        t = [{"data": {"ext_id": "t", "text": "x"}, "annotations": [{"completed_by": {"email": "a@x"}, "result": [
            {"id": "r1", "from_name": "c", "to_name": "text", "type": "x", "value": value}]}]}]
        return side(t)

    res = diff_tables(one(before), one(after))
    (r,) = res.rows.to_pylist()
    assert r["description"] == words
    back = diff_tables(one(after), one(before)).rows.to_pylist()[0]
    assert back["kinds"] == r["kinds"] and back["score"] == r["score"]


def test_answer_level_changes_are_described():
    def one(**kw):
        ans = {"completed_by": {"email": "a@x"}, "result": [choice("positive", "r1")], "lead_time": 3.0, **kw}
        return side([{"data": {"ext_id": "t", "text": "x"}, "annotations": [ans]}])

    res = diff_tables(one(), one(ground_truth=True, lead_time=5.0))
    (r,) = res.rows.to_pylist()
    assert r["kinds"] == ["ground_truth", "lead_time"]
    assert r["description"] == "ground truth set; lead time 3 -> 5"
    assert res.summary["annotations"]["changed"] == 1 and res.summary["regions"]["changed"] == 0
    skip = side([{"data": {"ext_id": "t", "text": "x"}, "annotations": [
        {"completed_by": {"email": "a@x"}, "result": [], "was_cancelled": True, "lead_time": 3.0}]}])
    res = diff_tables(one(), skip)
    s = res.summary
    assert (s["skipped"]["added"], s["skipped"]["removed"], s["annotations"]["changed"]) == (1, 0, 1)
    assert s["regions"]["removed"] == 1
    assert {(r["change"], r["description"]) for r in res.rows.to_pylist()} == {("removed", "positive"), ("added", "skipped")}


# ---------------------------------------------------------------------------
# config and source data


def test_config_structure_agrees_with_label_studio_sdk():
    from annover.model.config import LabelingConfig

    examples = [
        (Path(__file__).parents[1] / "examples" / "sentiment" / "labeling.xml").read_text(),
        config_xml(CONTROLS),
        '<View><Image name="img" value="$image"/><RectangleLabels name="box" toName="img">'
        '<Label value="Cat" alias="c"/><Label value="Dog"/></RectangleLabels>'
        '<Choices name="ch" toName="img"><View><Choice value="a"/></View><Choice value="b"/></Choices>'
        '<TextArea name="cap" toName="img"/></View>',
    ]
    for text in examples:
        sdk = LabelingConfig(text).controls
        ours = config_structure(text)
        assert set(ours) == set(sdk)
        for name, c in sdk.items():
            assert ours[name]["tag"] == c.tag
            assert tuple(ours[name]["to_name"]) == c.to_name
            assert tuple(ours[name]["labels"]) == c.labels


def test_config_diff_controls_renamed_added_removed():
    a = config_xml({"sentiment": ("Choices", "text", ["pos", "neg"]), "entities": ("Labels", "text", ["PER", "ORG"])})
    b = config_xml({"mood": ("Choices", "text", ["pos", "neg", "mixed"]), "objects": ("RectangleLabels", "img", ["cat"])})
    d = diff_config(a, b)
    assert d["controls_renamed"] == [{"from": "sentiment", "to": "mood"}]
    assert d["controls_removed"] == ["entities"] and d["controls_added"] == ["objects"]
    assert d["labels_added"] == {"mood": ["mixed"]}
    # labels whose neighbours moved are not called renamed
    d = diff_config(config_xml({"s": ("Choices", "text", ["a", "b", "c"])}),
                    config_xml({"s": ("Choices", "text", ["z", "a", "b"])}))
    assert d["labels_renamed"] == {} and d["labels_added"] == {"s": ["z"]} and d["labels_removed"] == {"s": ["c"]}
    assert diff_config(a, a)["changed"] is False
    assert config_warnings(b, {"mood": {"pos": 2, "gone": 1}, "nope": {"x": 1}}) == [
        "B's annotations use label 'gone' of control 'mood' (1 region(s)) that B's config lacks",
        "B's annotations use control 'nope' (1 label(s)) that B's config lacks"]


def test_control_rename_pairs_regions_and_says_so():
    def t(ctl):
        return [{"data": {"ext_id": "t", "text": TEXT}, "annotations": [{"completed_by": {"email": "a@x"}, "result": [
            {"id": "r1", "from_name": ctl, "to_name": "text", "type": "labels",
             "value": {"start": 5, "end": 9, "labels": ["PER"]}}]}]}]

    a = side(t("entities"), config_xml({"entities": ("Labels", "text", ["PER"])}))
    b = side(t("ner"), config_xml({"ner": ("Labels", "text", ["PER"])}))
    res = diff_tables(a, b)
    (r,) = res.rows.to_pylist()
    assert r["kinds"] == ["control"] and r["description"] == "control entities -> ner" and r["match"] == "overlap"
    assert res.summary["config"]["controls_renamed"] == [{"from": "entities", "to": "ner"}]


def test_source_diff_by_content_hash():
    fa = {"a.jpg": "1", "b.jpg": "2", "c.jpg": "3"}
    fb = {"a.jpg": "1", "b.jpg": "9", "d.jpg": "3", "e.jpg": "5"}
    d = diff_source({"path": "data"}, {"path": "data"}, fa, fb)
    assert (d["added"], d["removed"], d["modified"], d["renamed"]) == (["e.jpg"], [], ["b.jpg"],
                                                                       [{"from": "c.jpg", "to": "d.jpg"}])
    assert d["changed"] and (d["files_before"], d["files_after"]) == (3, 4)
    assert diff_source(None, None, None, None) is None
    assert not diff_source({"path": "x"}, {"path": "x"}, fa, dict(fa))["changed"]
    tasks = [{"data": {"ext_id": "t", "text": "x"}, "annotations": []}]
    res = diff_tables(side(tasks, source=fa), side(tasks, source=fb))
    assert not res.identical and res.rows.num_rows == 0 and res.summary["source"]["modified"] == ["b.jpg"]


def test_task_data_changes():
    a = side([{"data": {"ext_id": "t", "text": "old text"}, "annotations": []}])
    b = side([{"data": {"ext_id": "t", "text": "new text"}, "annotations": []}])
    res = diff_tables(a, b)
    (r,) = res.rows.to_pylist()
    assert (r["table"], r["change"], r["kinds"], r["description"]) == (
        "tasks", "changed", ["data"], 'data.text old text -> new text')
    assert res.summary["tasks"]["data_changed"] == 1


def test_an_answer_that_keeps_some_rows_is_changed_not_added_or_removed():
    """Rows that did not change still tell on which sides an answer is, and whose it is."""
    def one(results):
        return side([{"data": {"ext_id": "t", "text": TEXT}, "annotations": [
            {"id": 1, "completed_by": {"email": "a@x"}, "result": results}]}])

    both = [choice("positive", "c1"), span(0, 5, 4, "PER", "s1"), box(0, "cat", "b1")]
    fewer = one(both[:2])
    res = diff_tables(one(both), fewer)
    s = res.summary
    assert (s["annotations"]["added"], s["annotations"]["removed"], s["annotations"]["changed"]) == (0, 0, 1)
    assert (s["regions"]["added"], s["regions"]["removed"], s["regions"]["changed"]) == (0, 1, 0)
    assert s["annotators"]["a@x"] == {"before": 1, "after": 1, "added": 0, "removed": 0, "changed": 1}
    assert [(r["change"], r["description"]) for r in res.rows.to_pylist()] == [("removed", "cat, box")]
    back = diff_tables(fewer, one(both)).summary
    assert (back["annotations"]["changed"], back["regions"]["added"]) == (1, 1)

    # the same answer (key) given to another annotator: removed for one, added for the other
    import pyarrow as pa

    moved = one(both)
    i = moved.annotations.schema.get_field_index("annotator")
    moved.annotations = moved.annotations.set_column(i, moved.annotations.schema.field(i),
                                                     pa.array(["b@x"] * moved.annotations.num_rows))
    s = diff_tables(one(both), moved).summary
    assert s["annotations"]["changed"] == 1
    assert s["annotators"]["a@x"]["removed"] == 1 and s["annotators"]["b@x"]["added"] == 1
    assert s["regions"]["changed"] == 0 and s["tasks"]["with_annotation_changes"] == 1


def test_identical_rows_of_different_tasks_are_not_paired():
    """A task removed and another added with the very same answer (same keys but the task's)."""
    def task(key):
        return {"data": {"ext_id": key, "text": TEXT}, "annotations": [
            {"id": 1, "completed_by": {"email": "a@x"}, "result": [choice("positive", "c1")]}]}

    res = diff_tables(side([task("t1")]), side([task("t2")]))
    rows = sorted((r["table"], r["change"], r["task_key"]) for r in res.rows.to_pylist())
    assert rows == [("annotations", "added", "t2"), ("annotations", "removed", "t1"),
                    ("tasks", "added", "t2"), ("tasks", "removed", "t1")]
    s = res.summary
    assert (s["annotations"]["added"], s["annotations"]["removed"], s["regions"]["added"]) == (1, 1, 1)


def test_float_columns_compare_as_values():
    """-0.0 equals 0.0 and NaN equals NaN, as in the canonical encoding; 1.5 is not 2.5."""
    import pyarrow as pa

    def with_lead(v):
        s = side([{"data": {"ext_id": "t", "text": TEXT}, "annotations": [
            {"id": 1, "completed_by": {"email": "a@x"}, "result": [choice("positive", "c1")]}]}])
        i = s.annotations.schema.get_field_index("lead_time")
        s.annotations = s.annotations.set_column(i, s.annotations.schema.field(i),
                                                 pa.array([v] * s.annotations.num_rows, pa.float64()))
        return s

    assert diff_tables(with_lead(0.0), with_lead(-0.0)).identical
    assert diff_tables(with_lead(float("nan")), with_lead(float("nan"))).identical
    (r,) = diff_tables(with_lead(1.5), with_lead(2.5)).rows.to_pylist()
    assert r["kinds"] == ["lead_time"] and r["description"] == "lead time 1.5 -> 2.5"


@pytest.mark.parametrize("before, after", [(0.0, -0.0), (float("nan"), float("nan")), (-0.0, float("nan"))])
def test_rows_compared_by_their_hashes_take_floats_as_values(before, after):
    """The parts' path compares a touched task's rows by their hashes: an answer whose lead
    time went from 0.0 to -0.0 (or NaN to NaN) beside one relabeled is not changed; from
    -0.0 to NaN it is, with a lead time change."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def sides(lead_1: float, label: str):
        s = side([{"data": {"ext_id": "t", "text": TEXT}, "annotations": [
            {"id": 1, "completed_by": {"email": "a@x"}, "result": [choice("positive", "c1")]},
            {"id": 2, "completed_by": {"email": "b@x"}, "result": [choice(label, "c2")], "lead_time": 3.0}]}])
        t = s.annotations
        i = t.schema.get_field_index("lead_time")
        first = pc.equal(t.column("annotator"), "a@x")
        s.annotations = t.set_column(i, t.schema.field(i), pc.if_else(first, pa.scalar(lead_1), t.column(i)))
        return s

    plain = diff_tables(sides(before, "positive"), sides(after, "negative"))
    stored = diff_tables(sides(before, "positive"), sides(after, "negative"), stored_hashes=True)
    assert stored.summary == plain.summary and stored.rows.to_pylist() == plain.rows.to_pylist()
    changed = {(r["annotator"], tuple(r["kinds"])) for r in stored.rows.to_pylist()}
    both_nan = before != before and after != after
    same = before == after or both_nan
    assert changed == {("b@x", ("relabel",))} | (set() if same else {("a@x", ("lead_time",))})


def test_options_are_checked():
    from annover.errors import UsageError

    t = side([{"data": {"ext_id": "t"}, "annotations": []}])
    with pytest.raises(UsageError):
        diff_tables(t, t, policy="newest")
    with pytest.raises(UsageError):
        diff_tables(t, t, iou_threshold=1.5)


def test_row_schema_matches_the_json_schema():
    props = SCHEMA["$defs"]["row"]["properties"]
    assert list(props) == row_schema().names
    assert set(SCHEMA["$defs"]["row"]["required"]) == set(row_schema().names)
    kinds = set(SCHEMA["$defs"]["row"]["properties"]["kinds"]["items"]["enum"])
    assert kinds == set(D.TASK_KINDS) | set(D.REGION_KINDS) | set(D.ANSWER_KINDS)
    assert SCHEMA["$defs"]["policy"]["enum"] == list(POLICIES)


def test_canonical_inputs_are_not_mutated():
    tasks = [{"data": {"ext_id": "t", "text": "x"}, "annotations": [
        {"completed_by": {"email": "a@x"}, "result": [choice("positive", "r1")]}]}]
    a, b = side(tasks), side([])
    before = (C.content_id(a.annotations, "annotations"), C.content_id(a.tasks, "tasks"))
    diff_tables(a, b, transitions=True)
    assert (C.content_id(a.annotations, "annotations"), C.content_id(a.tasks, "tasks")) == before


@pytest.mark.parametrize("encoding", ["dictionary", "large_string"])
def test_tables_given_with_other_string_encodings_diff_the_same(encoding):
    """Canonical tables handed to diff_tables with some text columns dictionary-encoded (as a
    Parquet reader's read_dictionary gives them) or as large strings diff as the plain ones,
    whichever side holds them."""
    import pyarrow as pa
    import pyarrow.compute as pc

    round1, round2 = (json.loads((Path(__file__).parent.parent / "examples" / "sentiment" / f).read_text())
                      for f in ("round1.json", "round2.json"))

    def encoded(s: Side) -> Side:
        t = s.annotations
        for name in ("annotator", "from_name", "value", "region_key"):
            i = t.schema.get_field_index(name)
            col = pc.dictionary_encode(t.column(name)) if encoding == "dictionary" else t.column(name).cast(pa.large_string())
            t = t.set_column(i, name, col)
        return Side(s.tasks, t, s.predictions, config=s.config)

    plain = diff_tables(side(round1), side(round2))
    assert plain.rows.num_rows
    for a, b in ((True, False), (False, True), (True, True)):
        got = diff_tables(*(encoded(s) if e else s for s, e in ((side(round1), a), (side(round2), b))))
        assert got.summary == plain.summary
        assert got.rows.to_pylist() == plain.rows.to_pylist()


def test_tasks_in_parts_count_as_one_diff():
    """Thirty tasks relabeled alike, one skipped, one annotator changed, diffed in three parts
    on threads: every count sums over the parts as the one-part diff counts it."""
    from unittest import mock

    import annover.diffing.answers as answers

    def tasks(label: str, who: str, last_cancelled: bool) -> list[dict]:
        out = []
        for i in range(30):
            res = [] if (last_cancelled and i == 29) else [choice(label, None), box(0, "cat", f"b{i}")]
            out.append({"id": i, "data": {"ext_id": f"t{i:02d}", "text": TEXT, "image": "x.png"},
                        "annotations": [{"id": 100 + i, "completed_by": {"email": who if i == 3 else "alice@x"},
                                         "result": res, "was_cancelled": last_cancelled and i == 29,
                                         "lead_time": 1.0}]})
        return out

    sa, sb = side(tasks("positive", "alice@x", False)), side(tasks("negative", "bob@x", True))
    whole = diff_tables(sa, sb, stored_hashes=True)
    with mock.patch.object(answers, "PARTITION_TASKS", 1), mock.patch.object(answers, "PARTS", 3):
        parted = diff_tables(sa, sb, stored_hashes=True)
    assert parted.summary == whole.summary and parted.rows.to_pylist() == whole.rows.to_pylist()
    relabels = {(r["control"], r["from"], r["to"]): r["count"] for r in whole.summary["relabels"]}
    # task 29 is a skip now, task 3's answer is bob's (removed for alice, added for bob)
    assert relabels == {("sentiment", "positive", "negative"): 28}
    ann = whole.summary["annotations"]
    assert (ann["added"], ann["removed"], ann["changed"]) == (1, 1, 29)


def test_parts_by_key_range_keep_every_task_whatever_its_key():
    """Parts are ranges of task keys, read with a BETWEEN on the key: keys of every kind of
    text (accents, other scripts, emoji, quotes, spaces, case) land in exactly one part."""
    from unittest import mock

    import annover.diffing.answers as answers

    keys = ["Z", "a", "é", "e", "日本", "ß", "ss", "\U0001f600", "it's", " lead", "A", "z ", "Ω", "o'", "ä", "b"]

    def tasks(label: str) -> list[dict]:
        return [{"id": i, "data": {"ext_id": k, "text": TEXT, "image": "x.png"},
                 "annotations": [{"id": 100 + i, "completed_by": {"email": "alice@x"}, "lead_time": 1.0,
                                  "result": [choice(label if i % 2 else "neutral", None)]}]}
                for i, k in enumerate(keys)]

    sa, sb = side(tasks("positive")), side(tasks("negative"))
    whole = diff_tables(sa, sb, stored_hashes=True)
    for parts, share in ((2, 0.9), (3, 0.9), (5, 0.9), (2, 0), (3, 0), (5, 0)):  # 0: ranges read whole
        with mock.patch.object(answers, "PARTITION_TASKS", 1), mock.patch.object(answers, "PARTS", parts), \
                mock.patch.object(answers, "WHOLE_RANGE_SHARE", share):
            parted = diff_tables(sa, sb, stored_hashes=True)
        assert parted.summary == whole.summary and parted.rows.to_pylist() == whole.rows.to_pylist()
    changed = {r["task_key"] for r in whole.rows.to_pylist()}
    assert changed == {k for i, k in enumerate(keys) if i % 2}
    # more parts than tasks touched: a part with no task reads nothing (not every row)
    one = tasks("positive")
    one[3]["annotations"][0]["result"] = [choice("negative", None)]
    sc = side(one)
    alone = diff_tables(sa, sc, stored_hashes=True)
    for share in (0.9, 0):
        with mock.patch.object(answers, "PARTITION_TASKS", 1), mock.patch.object(answers, "PARTS", 5), \
                mock.patch.object(answers, "WHOLE_RANGE_SHARE", share):
            parted = diff_tables(sa, sc, stored_hashes=True)
        assert parted.summary == alone.summary and parted.rows.to_pylist() == alone.rows.to_pylist()
    assert {r["task_key"] for r in alone.rows.to_pylist()} == {keys[3]}


def test_a_repeaters_controls_are_its_configs_in_the_diffs_warnings(repo):
    """The corpus's Repeater export (``labels_0``, ``categories_0`` of ``labels_{{idx}}``,
    ``categories_{{idx}}``), relabeled: the diff warns of no control its config lacks, as a
    snapshot of it did not; a label the template lacks is still warned, by the name used."""
    corpus = shared_corpus("label-studio")
    tasks = json.loads((corpus / "sdk_repeater_taxonomy.json").read_text())
    repo.snapshot(corpus / "sdk_repeater_taxonomy.json", config=corpus / "sdk_repeater_taxonomy.xml", message="a")
    for t in tasks:
        for a in t["annotations"]:
            for r in a["result"]:
                if r["type"] == "taxonomy":
                    r["value"]["taxonomy"] = [["Eukarya"]]
    (repo.root / "b.json").write_text(json.dumps(tasks))
    repo.snapshot(repo.root / "b.json", message="b")
    d = repo.diff("v1", "v2")
    assert not [w for w in d.summary["warnings"] if "config lacks" in w], d.summary["warnings"]
    text = (corpus / "sdk_repeater_taxonomy.xml").read_text()
    assert config_warnings(text, {"categories_3": {"Martian": 1}, "labels_3": {"Document Title": 2}}) == [
        "B's annotations use label 'Martian' of control 'categories_3' (1 region(s)) that B's config lacks"]
