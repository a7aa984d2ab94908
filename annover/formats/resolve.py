"""Which answer of each task a training format gets: the ``--resolve`` rule, or one model's predictions.

A training format (COCO, YOLO, VOC, CoNLL) holds one set of labels per item. A version
may hold several answers per task (annotators, skips) and predictions; what goes out is
chosen here, by a rule the user names, and what is left out is counted, never dropped in
silence:

- ``only`` (default): the task's one answer; a task with several is an error naming them;
- ``ground-truth``: the answer marked ground truth, else the only answer, else an error;
- ``latest``: the answer updated (else created) last;
- ``majority``: an answer whose labels (every control's, as sets) most of the task's answers
  give, ties to the latest, so one answer of the label ``annover eval`` / ``suspects`` resolve
  with ``--resolve majority``; regions of different shapes count as different answers;
- ``annotator:EMAIL``: that annotator's answer (their latest); tasks they did not answer are left out;
- ``all``: every answer's regions together (for sets where annotators labeled different objects);
- ``consensus``: region by region, what a strict majority of the task's answers give (see
  :func:`_consensus`): a box most annotators drew goes out once, a box one of three drew does not.

An annotator's answer on a task is their latest one (by ``updated_at``, else ``created_at``, then
the answer key), as the loop reads it (``annover.loop.queries.replaced_sql``): an earlier answer
they replaced is left out (counted) before any rule, so it is no vote for ``majority`` or
``consensus``, nor a second answer for ``only``. Answers that name no annotator each count (the
loop takes a task's unnamed answers as one annotator's).
Skips (``was_cancelled``) are never labels. A task with no answer left is left out of the
export (an empty YOLO file or a COCO image without objects would say "nothing here").
With ``predictions=MODEL_VERSION`` the answers are that model's predictions instead.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from annover._lazy import lazy
from annover.errors import UsageError
from annover.model.geometry import Shape, bounds_apart, box_bounds, pair_scores, shape_on

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")

__all__ = ["RULES", "Item", "Picked", "Region", "in_task_order", "pick", "rule_of", "task_meta"]

RULES = ("only", "ground-truth", "latest", "majority", "consensus", "all", "annotator:EMAIL")
#: ``consensus``: the IoU (boxes, polygons), overlap (spans) or point similarity two answers' regions
#: of the same labels need to be the same object (the diff's and ``eval``'s default threshold)
CONSENSUS_SCORE = 0.5
_COLUMNS = ("task_key", "region_key", "annotator", "from_name", "to_name", "type", "labels", "value", "region",
            "was_cancelled", "ground_truth", "created_at", "updated_at", "position")


@dataclass
class Region:
    """One result region of the chosen answer, its JSON columns parsed."""

    from_name: str | None
    to_name: str | None
    type: str | None
    labels: list[str]
    value: dict
    region: dict  # the result item's other fields (original_width, id, parentID...)
    score: float | None = None
    key: str = ""  # region_key: ``<region id>/<control>`` where the result item had an id

    @property
    def id(self) -> str | None:
        """The result item's id (what a keypoint's ``parentID`` names), None for a region keyed by content."""
        suffix = f"/{self.from_name}"
        if self.key.startswith("~") or not self.key.endswith(suffix):
            return None
        return self.key[:-len(suffix)].split("#")[0] or None


@dataclass
class Item:
    """A task with the regions of its chosen answer (none: a labeled "nothing here")."""

    task_key: str
    data: dict
    regions: list[Region] = field(default_factory=list)
    #: the image size (pixels) the task's answers give, for predictions that give none
    size: "tuple[int, int] | None" = None


@dataclass
class Picked:
    """What goes out, in task-key order, and what was left out (said to the user)."""

    items: list[Item]
    all_tasks: list[str]  # every task key of the version, in order (stable image ids)
    task_data: dict[str, dict]
    task_ids: dict[str, int | None] = field(default_factory=dict)  # Label Studio task ids (provenance)
    notes: list[str] = field(default_factory=list)
    #: task key -> the task's ``meta`` (Label Studio's task meta, kept in the tasks' ``extra``), where it has
    #: one: a VOC file's image fields, a CoNLL sentence's other columns, that their exports write back
    task_meta: dict[str, dict] = field(default_factory=dict)


def in_task_order(picked: Picked) -> list[Item]:
    """The picked items in Label Studio task id order where every one has an id (a CoNLL file's sentences in
    the file's order, an export's tasks in Label Studio's), else in key order: the CoNLL export's lines and the
    Hugging Face export's rows, so that the two (gold and a model's) line up."""
    order = picked.task_ids
    if picked.items and all(order.get(it.task_key) is not None for it in picked.items):
        return sorted(picked.items, key=lambda it: order[it.task_key])
    return picked.items


def rule_of(resolve: str | None) -> tuple[str, str | None]:
    r = resolve or "only"
    if r.startswith("annotator:") and len(r) > len("annotator:"):
        return "annotator", r.split(":", 1)[1]
    if r in ("only", "ground-truth", "latest", "majority", "consensus", "all"):
        return r, None
    raise UsageError(f"unknown --resolve {r!r}", f"use one of {', '.join(RULES)}")


def _answers(rows: list[dict], key_col: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r[key_col], []).append(r)
    return out


def _latest_of_each(answers: dict[str, list[dict]]) -> tuple[dict[str, list[dict]], int]:
    """``answers`` but those a later answer of the same annotator replaced, and how many were: one
    answer per annotator, their latest (:func:`_latest`), as the loop reads them; an answer that names
    no annotator is its own."""
    by_who: dict[str, list[str]] = {}
    for k, rs in answers.items():
        if (who := rs[0].get("annotator")) is not None:
            by_who.setdefault(who, []).append(k)
    replaced = {k for ks in by_who.values() if len(ks) > 1 for k in ks if k != _latest(answers, ks)}
    return {k: rs for k, rs in answers.items() if k not in replaced}, len(replaced)


def _region(r: dict, parsed: dict[str, dict]) -> Region | None:
    """The region of a row; ``parsed`` remembers region texts (most rows of an image set share one)."""
    if r["region_key"] == "":
        return None
    text = r["region"]
    region = parsed.get(text) if text else {}
    if region is None:
        region = parsed[text] = json.loads(text)
    return Region(r["from_name"], r["to_name"], r["type"], list(r["labels"] or []),
                  json.loads(r["value"]) if r["value"] else {}, dict(region), _score(r, region), r["region_key"])


def _score(r: dict, region: dict) -> float | None:
    """A predicted region's score: its own (Label Studio's per-result ``score``, what a detector gives each
    box) where it has one, else its prediction's, as ``annover suspects`` reads it; None for an answer's
    region (an answer has no score, whatever its regions kept from the prediction they were made from)."""
    if "score" not in r:
        return None
    own = region.get("score")
    if isinstance(own, (int, float)) and not isinstance(own, bool) and math.isfinite(own):
        return float(own)
    return r["score"]


def _time(rows: list[dict]) -> str:
    return str(rows[0].get("updated_at") or rows[0].get("created_at") or "")


def _latest(answers: dict[str, list[dict]], keys: list[str]) -> str:
    """The key of the answer updated (else created) last among ``keys``, then the larger key."""
    return max(keys, key=lambda k: (_time(answers[k]), k))


#: Result types whose labels are all they say (no shape, no text): compared by their labels.
_LABELS_ONLY = ("choices", "taxonomy")


def _labels_of(rows: list[dict]) -> tuple:
    """What an answer says, compared between answers: each result's control and labels (as a
    set) and, but for a choice, its value (a shape, a text), in a canonical order."""
    said = [(r["from_name"] or "", tuple(sorted(set(r["labels"] or []))),
             "" if r["type"] in _LABELS_ONLY else r["value"] or "") for r in rows if r["region_key"] != ""]
    return tuple(sorted(said))


def _majority(answers: dict[str, list[dict]]) -> str:
    """The latest of the answers whose labels (:func:`_labels_of`) most answers give; between
    labels as many answers give, those of the latest answer."""
    groups: dict[tuple, list[str]] = {}
    for k in sorted(answers):
        groups.setdefault(_labels_of(answers[k]), []).append(k)
    latest = {said: _latest(answers, ks) for said, ks in groups.items()}
    best = max(groups, key=lambda said: (len(groups[said]), _time(answers[latest[said]]), latest[said]))
    return latest[best]


def _consensus(answers: dict[str, list[dict]], parsed: dict[str, dict]) -> tuple[list[Region] | None, int]:
    """The regions a strict majority of ``answers`` give, and how many objects no majority gave.

    Results pair between answers by control and labels: shapes when :func:`shape_score` reaches
    :data:`CONSENSUS_SCORE` (best pairs first, one region of an answer per object), other results
    by their value. An object a majority gave goes out once, as the region of the answer that
    agrees best with the others (ties to the latest), with what its id carries in other controls
    (a per-region text) and the keypoints whose ``parentID`` it is. None: no majority agrees on
    any region, nor on "nothing here" (the task is left out)."""
    order = sorted(answers, key=lambda k: (_time(answers[k]), k))  # oldest first: ties go to the later
    need = len(order) // 2 + 1
    members: list[tuple[int, Region, Shape | None]] = []
    children: dict[tuple[int, str], list[Region]] = {}
    for i, k in enumerate(order):
        rows = [(r, g) for r in sorted(answers[k], key=lambda r: r.get("position") or 0)
                if (g := _region(r, parsed)) is not None]
        shaped = [(g, shape_on(g.value, r["region"])) for r, g in rows]
        ids = {g.id for g, sh in shaped if sh is not None and g.id}
        for g, sh in shaped:
            parent = g.region.get("parentID")  # a keypoint of a box goes with its box
            if parent in ids and parent != g.id:
                children.setdefault((i, parent), []).append(g)
            elif sh is None and g.id in ids:
                children.setdefault((i, g.id), []).append(g)
            else:
                members.append((i, g, sh))
    kept: list[tuple[int, int]] = []  # (where the object first appears, the member chosen for it)
    objects = 0
    for group in _by_what(members).values():
        ms = [members[m] for m in group]
        clusters, scores = _clusters(ms)
        for cluster in clusters:
            objects += 1
            if len({ms[c][0] for c in cluster}) >= need:
                kept.append((group[min(cluster)], group[_chosen(cluster, ms, scores)]))
    if not kept:
        empty = len(order) - len({i for i, _, _ in members})
        return ([], objects) if empty >= need else (None, objects)
    out = [members[m] for _, m in sorted(kept)]
    return [x for i, g, _ in out for x in (g, *children.get((i, g.id), []))], objects - len(kept)


def _by_what(members: list[tuple[int, Region, "Shape | None"]]) -> dict[tuple, list[int]]:
    """Member indexes by what a result says but its shape: control, labels and (no shape) value."""
    out: dict[tuple, list[int]] = {}
    for m, (_, g, sh) in enumerate(members):
        value = "" if sh is not None or g.type in _LABELS_ONLY else json.dumps(g.value, sort_keys=True)
        out.setdefault((g.from_name or "", tuple(sorted(set(g.labels))), sh is None, value), []).append(m)
    return out


def _clusters(ms: list[tuple[int, Region, "Shape | None"]]) -> tuple[list[list[int]], dict[tuple[int, int], float]]:
    """One control's results of the same labels as objects: results of different answers join
    when their shapes pair (none: always), best pairs first, at most one of an answer each; and
    the scores of the pairs that overlap at all (``(a, b)``, a < b)."""
    root = list(range(len(ms)))
    said = [{i} for i, _, _ in ms]
    pairs = _pairs(ms)
    if ms and ms[0][2] is None:  # a group is all shapes or all none (_by_what): results with no shape agree
        scores = dict.fromkeys(pairs, 1.0)
    else:
        got = pair_scores([ms[a][2] for a, _ in pairs], [ms[b][2] for _, b in pairs])
        scores = {p: s for p, s in zip(pairs, got) if s > 0}  # not NO_SCORE (not comparable), nor NaN
    for (a, b), _ in sorted(scores.items(), key=lambda e: (-e[1], e[0])):
        ra, rb = _root(root, a), _root(root, b)
        if scores[a, b] >= CONSENSUS_SCORE and ra != rb and not said[ra] & said[rb]:
            root[rb] = ra
            said[ra] |= said[rb]
    out: dict[int, list[int]] = {}
    for m in range(len(ms)):
        out.setdefault(_root(root, m), []).append(m)
    return list(out.values()), scores


def _pairs(ms: list[tuple[int, Region, "Shape | None"]]) -> list[tuple[int, int]]:
    """The pairs ``(a, b)``, a < b, of results of different answers that may score above 0: all but those
    of two axis-aligned boxes apart (:func:`bounds_apart`: IoU 0), which a sweep over the boxes' left edges
    never forms, so that answers of thousands of boxes each are not paired every box with every box
    (3 answers of 2,000 boxes: 18 million pairs, 76 s and 4.5 GB before)."""
    bounds = [box_bounds(sh) for _, _, sh in ms]
    loose = [m for m, b in enumerate(bounds) if b is None]  # no quick test: paired with every other
    out = {(min(a, b), max(a, b)) for a in loose for b in range(len(ms)) if a != b and ms[a][0] != ms[b][0]}
    boxes = sorted((b[0], m) for m, b in enumerate(bounds) if b is not None)
    for i, (_, a) in enumerate(boxes):
        for j in range(i + 1, len(boxes)):
            x0, b = boxes[j]
            if x0 > bounds[a][2]:  # this box and those after it start right of a's end
                break
            if ms[a][0] != ms[b][0] and not bounds_apart(bounds[a], bounds[b]):
                out.add((min(a, b), max(a, b)))
    return sorted(out)


def _root(root: list[int], x: int) -> int:
    """Union-find: the root of ``x``, halving the path on the way."""
    while root[x] != x:
        root[x] = x = root[root[x]]
    return x


def _chosen(cluster: list[int], ms: list[tuple[int, Region, "Shape | None"]],
            scores: dict[tuple[int, int], float]) -> int:
    """The member of an object that agrees best with the others (ties to the latest answer)."""
    def agreement(m: int) -> tuple:
        return sum(scores.get((min(m, o), max(m, o)), 0.0) for o in cluster if o != m), ms[m][0], -m
    return max(cluster, key=agreement)


def _choose(task: str, answers: dict[str, list[dict]], rule: str, who: str | None, what: str,
            hint_rules: str) -> list[str] | None:
    """The answer keys to use for one task (None: leave the task out)."""
    keys = sorted(answers)
    if rule == "all" or len(keys) == 1 and rule in ("only", "ground-truth", "latest", "majority", "consensus"):
        return keys
    if rule == "annotator":
        mine = [k for k in keys if answers[k][0].get("annotator") == who]
        return [_latest(answers, mine)] if mine else None
    if rule == "latest":
        return [_latest(answers, keys)]
    if rule == "majority":
        return [_majority(answers)]
    marked = ""
    if rule == "ground-truth":
        gt = [k for k in keys if answers[k][0].get("ground_truth")]
        if len(gt) == 1:
            return gt
        marked = f", {len(gt) or 'none'} of them marked ground truth,"
        hint_rules = hint_rules.replace("ground-truth, ", "")  # the rule given: no way out
    names = ", ".join(f"{k}" for k in keys[:4])
    raise UsageError(f"task {task!r} has {len(keys)} {what} ({names}){marked} and a training format holds one",
                     f"choose with --resolve {hint_rules} (resolve= in Python)")


def _answer_sizes(ann: "pa.Table") -> dict[str, tuple[int, int]]:
    """task key -> the image size in pixels its answers' regions give (``original_width`` /
    ``original_height``), for predictions from a model that does not give it."""
    enc = pc.dictionary_encode(ann.column("region")).combine_chunks()  # few distinct texts: one per size
    sizes = []
    for text in enc.dictionary.to_pylist():
        region = json.loads(text) if text else {}
        w, h = region.get("original_width"), region.get("original_height")
        ok = isinstance(w, (int, float)) and isinstance(h, (int, float)) and w > 0 and h > 0
        sizes.append((int(w), int(h)) if ok else None)
    rows = pa.table({"task_key": ann.column("task_key"), "i": enc.indices}).filter(
        pc.is_in(enc.indices, value_set=pa.array([i for i, x in enumerate(sizes) if x], enc.indices.type)))
    first = rows.group_by("task_key", use_threads=False).aggregate([("i", "min")])
    return {k: sizes[i] for k, i in zip(first.column("task_key").to_pylist(), first.column("i_min").to_pylist())}


def _consensus_notes(objects_out: int, no_majority: int) -> list[str]:
    notes = []
    if objects_out:
        notes.append(f"{objects_out} region(s) or label(s) given by no majority of their task's answers were left out "
                     "(--resolve consensus)")
    if no_majority:
        notes.append(f"{no_majority} task(s) whose answers agree on nothing by a majority were left out "
                     "(--resolve consensus)")
    return notes


def _source(tables: dict[str, "pa.Table"], rule: str, who: str | None,
            predictions: str | None) -> "tuple[pa.Table, list[str], str, str, str]":
    """The rows to choose from (answers, or one model's predictions): table, columns, key column,
    what they are called, and the rules a task with several may take."""
    if predictions is None:
        t = tables["annotations"]
        if rule == "annotator" and who not in set(t.column("annotator").to_pylist()):
            raise UsageError(f"no answers by annotator {who!r} in this version",
                             "name an annotator as `annover show` lists them")
        cols = [c for c in (*_COLUMNS, "annotation_key") if c in t.column_names]
        return t, cols, "annotation_key", "answers", "ground-truth, latest, majority, consensus, all or annotator:EMAIL"
    t = tables["predictions"]
    t = t.filter(pc.equal(t.column("model_version"), predictions))
    if t.num_rows == 0:
        have = sorted(set(tables["predictions"].column("model_version").to_pylist()))
        raise UsageError(f"this version has no predictions of model version {predictions!r}",
                         f"use one of: {', '.join(have) or '(none)'}")
    if rule == "consensus":
        raise UsageError("--resolve consensus is for the answers of several annotators, not a model's predictions",
                         "with --predictions, use --resolve latest or all")
    cols = [c for c in (*_COLUMNS, "prediction_key", "score") if c in t.column_names]
    return t, cols, "prediction_key", "predictions", "latest or all"


def pick(tables: dict[str, "pa.Table"], resolve: str | None = None, predictions: str | None = None) -> Picked:
    """The items to export from a version's tables, by ``resolve`` (see the module) or a model's predictions."""
    rule, who = rule_of(resolve)
    tasks = tables["tasks"]
    all_tasks = tasks.column("task_key").to_pylist()
    task_data = {k: json.loads(d) for k, d in zip(all_tasks, tasks.column("data").to_pylist())}
    t, cols, key_col, what, hint_rules = _source(tables, rule, who, predictions)
    sizes = _answer_sizes(tables["annotations"]) if predictions is not None else {}
    by_task: dict[str, list[dict]] = {}
    skipped: set[tuple[str, str]] = set()
    for r in t.select(cols).to_pylist():
        if r.get("was_cancelled"):
            skipped.add((r["task_key"], r[key_col]))
            continue
        by_task.setdefault(r["task_key"], []).append(r)
    items: list[Item] = []
    parsed: dict[str, dict] = {}
    left_out = no_majority = objects_out = replaced = 0
    for task in all_tasks:
        if not (rs := by_task.get(task)):
            continue
        answers = _answers(rs, key_col)
        if predictions is None:
            answers, gone = _latest_of_each(answers)
            replaced += gone
        if rule == "consensus" and len(answers) > 1:
            regions, dropped = _consensus(answers, parsed)
            objects_out, no_majority = objects_out + dropped, no_majority + (regions is None)
        elif (chosen := _choose(task, answers, rule, who, what, hint_rules)) is None:
            left_out, regions = left_out + 1, None
        else:
            regions = [g for k in chosen for r in sorted(answers[k], key=lambda r: r.get("position") or 0)
                       if (g := _region(r, parsed)) is not None]  # in the order the answer gave them
        if regions is not None:
            items.append(Item(task, task_data[task], regions, sizes.get(task)))
    notes = _consensus_notes(objects_out, no_majority)
    if skipped:
        notes.append(f"{len(skipped)} skipped answer(s) are not labels and were left out")
    if replaced:
        notes.append(f"{replaced} answer(s) a later answer of the same annotator replaced were left out")
    if unlabeled := len(all_tasks) - len(items) - left_out - no_majority:
        notes.append(f"{unlabeled} task(s) without a usable {'prediction' if predictions else 'answer'} "
                     "were left out")
    if left_out:
        notes.append(f"{left_out} task(s) not answered by {who} were left out")
    if predictions is None and tables["predictions"].num_rows:
        notes.append("predictions are not exported (choose a model with --predictions MODEL_VERSION)")
    task_ids = dict(zip(all_tasks, tasks.column("ls_task_id").to_pylist()))
    return Picked(items, all_tasks, task_data, task_ids, notes, task_meta(tasks))


def task_meta(tasks: "pa.Table") -> dict[str, dict]:
    """task key -> its ``meta`` object, of the tasks whose ``extra`` holds one."""
    if "extra" not in tasks.column_names:
        return {}
    out = {}
    for k, extra in zip(tasks.column("task_key").to_pylist(), tasks.column("extra").to_pylist()):
        meta = json.loads(extra).get("meta") if extra else None
        if isinstance(meta, dict):
            out[k] = meta
    return out
