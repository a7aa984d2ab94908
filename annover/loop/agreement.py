"""How much annotators agree, per control and per label, in one version's annotations.

Classification controls (Choices, Taxonomy): Fleiss' kappa and Krippendorff's alpha
(nominal) over the tasks two or more annotators answered, Cohen's kappa for each pair of
annotators over the tasks both answered. A multi-label control (some answer gives
several labels) is measured as one binary question per label ("is L among the labels?"),
pooled for the control's figure. Region controls (spans, boxes, polygons): regions of
two annotators are paired as the diff pairs them (IoU / span overlap thresholds,
:func:`annover.diffing.match.match_regions`) and their F1 is 2·matched / (regions of
one + regions of the other), with and without requiring the same label.

Each figure says how many tasks it rests on; one that is not defined (one annotator,
a label nobody used, every answer the same) is None with a note, never NaN.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from annover._lazy import lazy
from annover.diffing.match import Region, match_regions
from annover.diffing.result import Options
from annover.loop import queries as Q
from annover.loop.display import agreement_html
from annover.loop.stats import Stat, cohen_kappa, fleiss_kappa, krippendorff_alpha, prf

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    np = lazy("numpy")
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")

__all__ = ["AgreementResult", "agreement", "codes", "pair_kappas", "region_pairs", "task_region_f1"]


@dataclass
class AgreementResult:
    """Agreement of one version's annotations (``to_json()`` is the ``--json`` document)."""

    tasks: int = 0
    answers: int = 0
    skipped: int = 0
    annotators: dict[str, int] = field(default_factory=dict)
    controls: dict[str, dict] = field(default_factory=dict)
    pairs: list[dict] = field(default_factory=list)  # most disagreeing pairs first
    notes: list[str] = field(default_factory=list)
    options: dict = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"tasks": self.tasks, "answers": self.answers, "skipped": self.skipped,
                "annotators": self.annotators, "controls": self.controls, "disagreeing_pairs": self.pairs,
                "notes": self.notes, "options": self.options}

    def _repr_html_(self) -> str:
        """In a notebook: the figures per control and label, and the most disagreeing pairs, as tables."""
        return agreement_html(self.to_json())


def codes(arr: "pa.ChunkedArray | pa.Array") -> tuple["np.ndarray", list]:
    """Integer codes of an Arrow column and the values they stand for."""
    enc = pc.dictionary_encode(arr)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks() if enc.num_chunks != 1 else enc.chunk(0)
    return np.asarray(enc.indices.to_numpy(zero_copy_only=False), np.int64), enc.dictionary.to_pylist()


def _stats(unit: "np.ndarray", cat: "np.ndarray", count: "np.ndarray") -> dict[str, dict]:
    return {"fleiss_kappa": fleiss_kappa(unit, cat, count).to_json(),
            "krippendorff_alpha": krippendorff_alpha(unit, cat, count).to_json()}


def _binary(raters: "np.ndarray", has: "np.ndarray") -> tuple:
    """Long (unit, category, count) of a yes/no question: ``has`` raters of ``raters`` said yes."""
    idx = np.arange(len(raters))
    u = np.concatenate([idx, idx])
    c = np.concatenate([np.ones(len(idx), np.int64), np.zeros(len(idx), np.int64)])
    m = np.concatenate([has, raters - has])
    return u, c, m


def pair_kappas(t: "pa.Table") -> list[dict]:
    """Cohen's kappa per (control, annotator pair) from the pair table's confusion counts, in the
    order of (control, a, b) (not the table's: a GROUP BY's rows come in no fixed order)."""
    out = []
    if t.num_rows == 0:
        return out
    rows = t.to_pydict()
    groups: dict[tuple, list[int]] = {}
    for i, key in enumerate(zip(rows["from_name"], rows["a"], rows["b"])):
        groups.setdefault(key, []).append(i)
    for (ctl, a, b), idx in sorted(groups.items()):
        la = [rows["la"][i] for i in idx]
        lb = [rows["lb"][i] for i in idx]
        n = np.asarray([rows["n"][i] for i in idx], np.int64)
        names = sorted(set(la) | set(lb))
        code = {v: j for j, v in enumerate(names)}
        ca = np.repeat(np.asarray([code[v] for v in la], np.int64), n)
        cb = np.repeat(np.asarray([code[v] for v in lb], np.int64), n)
        k = cohen_kappa(ca, cb)
        agree = int(sum(int(n[j]) for j in range(len(idx)) if la[j] == lb[j]))
        out.append({"control": ctl, "a": a, "b": b, "tasks": int(n.sum()), "agree": agree,
                    "cohen_kappa": k.to_json()})
    return out


def _classification(s: Q.Session, config_labels: dict[str, list[str]], res: AgreementResult) -> None:
    s.make("units", "SELECT from_name, task_key, (dense_rank() OVER (PARTITION BY from_name ORDER BY task_key)) - 1 AS u "
                    "FROM (SELECT DISTINCT from_name, task_key FROM ratings)")
    counts = s.fetch("""SELECT r.from_name, u.u, r.label, count(*) AS n FROM ratings AS r JOIN units AS u
                        ON r.from_name = u.from_name AND r.task_key = u.task_key GROUP BY ALL ORDER BY r.from_name""")
    multi, one_each = _shapes(s)
    elems = counts if one_each else _elements(s)
    pairs = pair_kappas(s.fetch("""
        SELECT x.from_name, x.annotator AS a, y.annotator AS b, x.label AS la, y.label AS lb, count(*) AS n
        FROM ratings AS x JOIN ratings AS y
          ON x.task_key = y.task_key AND x.from_name = y.from_name AND x.annotator < y.annotator
        GROUP BY ALL"""))
    controls = counts.column("from_name").unique().to_pylist()
    for ctl in sorted(controls):
        sub = counts.filter(pc.equal(counts.column("from_name"), ctl))
        unit = np.asarray(sub.column("u").to_numpy(), np.int64)
        cat, _ = codes(sub.column("label"))
        n = np.asarray(sub.column("n").to_numpy(), np.int64)
        raters = np.bincount(unit, weights=n).astype(np.int64)
        n_units = len(raters)
        multiple = ctl in multi
        entry: dict[str, Any] = {"kind": "classification", "multi_label": multiple,
                                 "tasks": n_units, "tasks_with_two_or_more": int((raters >= 2).sum())}
        es = elems.filter(pc.equal(elems.column("from_name"), ctl))
        entry["labels"], pooled = _per_label(es, config_labels.get(ctl, []), raters)
        if multiple and pooled:
            u = np.concatenate([p[0] for p in pooled])
            c = np.concatenate([p[1] for p in pooled])
            m = np.concatenate([p[2] for p in pooled])
            entry.update(_stats(u, c, m))
            entry["note"] = "multi-label: pooled over one yes/no question per label used"
        else:
            entry.update(_stats(unit, cat, n))
        mine = [p for p in pairs if p["control"] == ctl]
        entry["pairs"] = [{k: v for k, v in p.items() if k != "control"} for p in mine]
        ks = [p["cohen_kappa"]["value"] for p in mine if p["cohen_kappa"]["value"] is not None]
        entry["cohen_kappa_mean"] = {"value": round(float(np.mean(ks)), 6) if ks else None, "pairs": len(ks)}
        if entry["tasks_with_two_or_more"] == 0:
            entry["note"] = "no task of this control has two annotators' answers: nothing to compare"
        res.controls[ctl] = entry
        res.pairs.extend({"control": ctl, "a": p["a"], "b": p["b"], "tasks": p["tasks"],
                          "disagree": p["tasks"] - p["agree"], "score": p["cohen_kappa"]["value"],
                          "measure": "cohen_kappa"} for p in mine)


def _shapes(s: Q.Session) -> tuple[set[str], bool]:
    """The multi-label controls (some answer gives several labels), and whether every answer
    gives exactly one label, which is then its ``label`` text: each answer's labels, one at a
    time (:func:`_elements`), are then the answers' labels, already counted."""
    rows = s.con.execute("SELECT from_name, bool_or(len(labels) > 1), bool_and(len(labels) = 1 AND labels[1] "
                         "IS NOT NULL AND labels[1] = label) FROM ratings GROUP BY 1").fetchall()
    return {r[0] for r in rows if r[1]}, all(r[2] for r in rows)


def _elements(s: Q.Session) -> "pa.Table":
    """Per control, unit and label: the answers giving that label (among others)."""
    return s.fetch("""SELECT r.from_name, u.u, r.label, count(*) AS n FROM (
                        SELECT from_name, task_key, unnest(labels) AS label FROM ratings) AS r JOIN units AS u
                        ON r.from_name = u.from_name AND r.task_key = u.task_key GROUP BY ALL""")


def _per_label(es: "pa.Table", config_labels: list[str], raters: "np.ndarray") -> tuple[dict[str, dict], list[tuple]]:
    """Per label of one control, a yes/no question over its tasks: (its statistics by label,
    the (units, categories, counts) of the labels used, for pooling a multi-label control).
    ``es``: the control's (unit, label, n) counts of label elements; ``raters``: answers per unit."""
    n_units = len(raters)
    e_unit = np.asarray(es.column("u").to_numpy(), np.int64)
    e_code, e_names = codes(es.column("label"))
    e_n = np.asarray(es.column("n").to_numpy(), np.int64)
    labels = list(dict.fromkeys([*config_labels, *sorted(e_names)]))
    per_label: dict[str, dict] = {}
    pooled: list[tuple] = []
    where = {name: j for j, name in enumerate(e_names)}
    for j, lab in enumerate(labels):
        mask = e_code == where.get(lab, -1)
        has = np.bincount(e_unit[mask], weights=e_n[mask], minlength=n_units).astype(np.int64)
        used = int(has.sum())
        u, c, m = _binary(raters, has)
        st = _stats(u, c, m)
        if used == 0:
            for v in st.values():
                v["value"] = None
                v["note"] = "nobody used this label"
        per_label[lab] = {"answers": used, **st}
        if used:  # a label nobody used would add agreement on nothing
            pooled.append((u + j * n_units, c, m))
    return per_label, pooled


def _task_pairs(rows: dict[str, list], opts: Options,
                answered: "dict[str, list[str]] | None" = None) -> Iterator[tuple]:
    """Per task and pair of its annotators (a < b): (task, a, b, a's regions, b's regions, their
    pairs by shape, :func:`annover.diffing.match.match_regions`'). ``answered``: task -> the
    annotators who answered it (not a skip); one of them with no region of a control there answered
    "none", as eval reads an answer with no region (the other's regions are unmatched), rather than
    being left out of the comparison."""
    by_task: dict[str, dict[str, list[Region]]] = {}
    for i, (task, who) in enumerate(zip(rows["task_key"], rows["annotator"])):
        by_task.setdefault(task, {}).setdefault(who, []).append(
            Region(rows["region_key"][i], rows["from_name"][i], rows["labels"][i], rows["value"][i], i,
                   rows["region"][i]))
    for task, people in by_task.items():
        for who in (answered or {}).get(task, ()):
            people.setdefault(who, [])
    for task, people in by_task.items():
        names = sorted(people)
        for x in range(len(names)):
            for y in range(x + 1, len(names)):
                a, b = names[x], names[y]
                yield task, a, b, people[a], people[b], match_regions(people[a], people[b], opts)[0]


def _same(ra: Region, rb: Region) -> bool:
    """Whether two paired regions have the same labels."""
    return sorted(ra.labels or []) == sorted(rb.labels or [])


def region_pairs(rows: dict[str, list], opts: Options,
                 answered: "dict[str, list[str]] | None" = None) -> dict[tuple, dict]:
    """Per (control, annotator a, annotator b): regions of each, pairs matched by shape, and of
    those the pairs with the same labels, also per label, over the tasks both answered
    (``answered``: :func:`_task_pairs`)."""
    out: dict[tuple, dict] = {}
    for task, a, b, mine, theirs, pairs in _task_pairs(rows, opts, answered):
        for side, r in [("a", r) for r in mine] + [("b", r) for r in theirs]:
            acc = out.setdefault((r.from_name, a, b), {"tasks": set(), "a": 0, "b": 0, "matched": 0,
                                                       "same": 0, "labels": {}})
            acc["tasks"].add(task)
            acc[side] += 1
            for lab in r.labels or []:
                acc["labels"].setdefault(lab, {"a": 0, "b": 0, "same": 0})[side] += 1
        for ra, rb, how, _ in pairs:
            acc = out[(ra.from_name, a, b)]
            acc["matched"] += 1
            if _same(ra, rb):
                acc["same"] += 1
            for lab in set(ra.labels or []) & set(rb.labels or []):
                acc["labels"][lab]["same"] += 1
    return out


def task_region_f1(rows: dict[str, list], opts: Options,
                   answered: "dict[str, list[str]] | None" = None) -> dict[tuple[str, str], float]:
    """Per (task, control): the F1 of its annotators' regions, pooled over the task's pairs of
    annotators as :func:`region_pairs` pools them over tasks (2·same-label pairs / (regions of one +
    regions of the other)); only the tasks two or more annotators answered (``answered``)."""
    acc: dict[tuple[str, str], list[int]] = {}
    for task, _, _, mine, theirs, pairs in _task_pairs(rows, opts, answered):
        for r in mine + theirs:
            acc.setdefault((task, r.from_name), [0, 0])[1] += 1
        for ra, rb, _, _ in pairs:
            acc[(task, ra.from_name)][0] += 2 * _same(ra, rb)
    return {k: same / total for k, (same, total) in acc.items()}


def _regions(s: Q.Session, opts: Options, res: AgreementResult) -> None:
    rows = s.fetch("SELECT * FROM regions").to_pydict()
    if not rows["task_key"]:
        return
    answered = dict(s.con.execute("""
        SELECT task_key, list(DISTINCT coalesce(annotator, '-') ORDER BY coalesce(annotator, '-')) FROM ann
        WHERE NOT was_cancelled AND task_key IN (SELECT task_key FROM regions) GROUP BY 1""").fetchall())
    acc = region_pairs(rows, opts, answered)
    controls = sorted(set(rows["from_name"]))
    for ctl in controls:
        mine = {k: v for k, v in acc.items() if k[0] == ctl}
        tot = {"a": 0, "b": 0, "matched": 0, "same": 0}
        labels: dict[str, dict] = {}
        tasks: set = set()
        pairs = []
        for (_, a, b), v in sorted(mine.items()):
            for k in tot:
                tot[k] += v[k]
            tasks |= v["tasks"]
            for lab, lv in v["labels"].items():
                t = labels.setdefault(lab, {"a": 0, "b": 0, "same": 0})
                for k in t:
                    t[k] += lv[k]
            f1 = prf(v["same"], v["a"], v["b"])["f1"]
            pairs.append({"a": a, "b": b, "tasks": len(v["tasks"]), "regions_a": v["a"], "regions_b": v["b"],
                          "matched": v["matched"], "same_label": v["same"],
                          "f1": Stat(f1, len(v["tasks"])).to_json()})  # an object, as a pair's cohen_kappa
            res.pairs.append({"control": ctl, "a": a, "b": b, "tasks": len(v["tasks"]),
                              "disagree": v["a"] + v["b"] - 2 * v["same"], "score": f1, "measure": "f1"})
        n_regions = s.one(f"SELECT count(*) FROM regions WHERE from_name = '{ctl.replace(chr(39), chr(39) * 2)}'")[0]
        entry: dict[str, Any] = {
            "kind": "regions", "regions": int(n_regions), "tasks_with_two_or_more": len(tasks),
            "f1": Stat(prf(tot["same"], tot["a"], tot["b"])["f1"], len(tasks)).to_json(),
            "f1_any_label": Stat(prf(tot["matched"], tot["a"], tot["b"])["f1"], len(tasks)).to_json(),
            "labels": {lab: {"f1": Stat(prf(v["same"], v["a"], v["b"])["f1"], len(tasks)).to_json()}
                       for lab, v in sorted(labels.items())},
            "pairs": pairs}
        if not tasks:
            entry["note"] = "no task of this control has two annotators' regions: nothing to compare"
            entry["f1"]["note"] = entry["f1_any_label"]["note"] = "undefined: no task with two annotators"
        res.controls[ctl] = entry


def _measure(s: Q.Session, annotations: "pa.Table", config_labels: dict[str, list[str]] | None, opts: Options,
             res: AgreementResult) -> None:
    """Fill ``res`` from ``annotations``, registered in ``s`` as ``ann``."""
    s.add(ann=annotations)
    Q.build_ratings(s, "ann", "ratings")
    Q.build_regions(s, "ann", "regions")
    res.tasks, res.skipped = (int(x or 0) for x in s.one(
        "SELECT count(DISTINCT task_key), count(*) FILTER (WHERE was_cancelled) FROM ann"))
    res.answers = int(s.one("SELECT count(*) FROM (SELECT DISTINCT task_key, annotation_key FROM ann)")[0])
    res.annotators = {r[0]: int(r[1]) for r in s.con.execute("""
        SELECT coalesce(annotator, '-'), count(DISTINCT task_key) FROM ann WHERE NOT was_cancelled
        GROUP BY 1 ORDER BY 2 DESC, 1""").fetchall()}
    _classification(s, config_labels or {}, res)
    _regions(s, opts, res)


def agreement(annotations: "pa.Table", config_labels: dict[str, list[str]] | None = None,
              iou_threshold: float | None = None, overlap_threshold: float | None = None, *,
              session: Q.Session | None = None) -> AgreementResult:
    """Agreement between the annotators of one version (see the module); ``session``: a session
    to work in (registering ``annotations`` as ``ann``), whose ``ratings`` table of them a later
    :func:`annover.loop.suspects.suspects` in it reuses (the report's), rather than a new one."""
    given = {"iou_threshold": iou_threshold, "overlap_threshold": overlap_threshold}
    opts = Options(**{k: v for k, v in given.items() if v is not None}).check()
    res = AgreementResult(options={"iou_threshold": opts.iou_threshold, "overlap_threshold": opts.overlap_threshold})
    if session is None:
        with Q.Session() as s:
            _measure(s, annotations, config_labels, opts, res)
    else:
        _measure(session, annotations, config_labels, opts, res)
    if res.skipped:
        res.notes.append(f"{res.skipped} skipped answer(s) are not labels and were left out")
    if len(res.annotators) < 2:
        res.notes.append(f"{len(res.annotators)} annotator(s) answered: agreement needs two or more")
    res.pairs.sort(key=lambda p: (p["score"] if p["score"] is not None else 2.0, -p["tasks"], p["control"],
                                  p["a"], p["b"]))
    return res
