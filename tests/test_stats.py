"""Version stats against a plain-Python count of the same export (hypothesis)."""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings

from annover.model import stats as S
from annover.formats.label_studio import from_ls_tasks

from .test_canonical import export


def _expected(tasks: list[dict]) -> dict:
    """Count the export the way a reader of it would: one answer per (task, annotator)."""
    labeled = skipped = answers = regions = 0
    per_annotator: Counter = Counter()
    labels: dict[str, Counter] = {}
    for t in tasks:
        live = False
        for a in t["annotations"]:
            answers += 1
            per_annotator[a["completed_by"]["email"]] += 1
            if a["was_cancelled"]:
                skipped += 1
                continue
            live = True
            for r in a["result"]:
                regions += 1
                value = r["value"]
                for lab in value.get(r["type"], []):
                    labels.setdefault(r["from_name"], Counter())[lab] += 1
        labeled += live
    return {"tasks": len(tasks), "labeled": labeled, "unlabeled": len(tasks) - labeled, "skipped": skipped,
            "annotations": answers, "annotators": dict(sorted(per_annotator.items())),
            "labels": {k: dict(sorted(v.items())) for k, v in sorted(labels.items())}}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(export())
def test_stats_count_what_the_export_holds(tasks):
    t = from_ls_tasks(tasks, "gen", key="data.uid")
    got = S.compute(t.tasks, t.annotations)
    want = _expected(tasks)
    assert {k: got[k] for k in want} == want
    # regions of skips are stored too; the stat counts every stored region
    assert got["regions"] == sum(len(a["result"]) for x in tasks for a in x["annotations"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(export())
def test_stats_of_rows_with_one_label_each_and_no_skip(tasks):
    """The common flat case (every region one label, no answer skipped) is counted without
    gathering by row: the same figures as the plain-Python count."""
    for t in tasks:
        t["annotations"] = [a for a in t["annotations"] if not a["was_cancelled"]]
        for a in t["annotations"]:
            a["result"] = [r for r in a["result"] if len(r["value"].get(r["type"], [])) == 1]
    t = from_ls_tasks(tasks, "gen", key="data.uid")
    got = S.compute(t.tasks, t.annotations)
    want = _expected(tasks)
    assert {k: got[k] for k in want} == want
