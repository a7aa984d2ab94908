"""``annover suspects`` of region controls (boxes, spans): ``missed``, ``swapped``, ``majority``
and ``changed`` regions, each item held to a computation of its own here, over the raw Label
Studio export (its own IoU, span overlap, pairing, resolved answer), not annover's matcher.

Before, a version of regions gave "0 suspect label(s)" and a note that ``annover agreement``
compares regions."""

from __future__ import annotations

import copy
import html
import json
import re
from collections import Counter

import click
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annover.cli.suspects_json import suspects_json
from annover.formats.label_studio import from_ls_tasks
from annover.loop.suspects import suspects
from tests.conftest import shared_corpus
from tests.test_cli import invoke
from tests.test_json_schemas import validator
from tests.test_loop import answers_table, predictions_table
from tests.test_suspects_bulk import emitted

LS = shared_corpus("label-studio")
PAIR = 0.5  # the IoU / span overlap two regions pair at (the diff's default)


def _load(name: str) -> list[dict]:
    return json.loads((LS / name).read_text(encoding="utf-8"))


def _tables(export: list[dict]):
    return from_ls_tasks(export, "export.json", validate=False)


def _task_keys(t) -> dict:
    return dict(zip(t.tasks.column("ls_task_id").to_pylist(), t.tasks.column("task_key").to_pylist()))


# ---------------------------------------------------------------- the computation of our own


def _iou(a: dict, b: dict) -> float:
    ax, ay, aw, ah = a["x"], a["y"], a["width"], a["height"]
    bx, by, bw, bh = b["x"], b["y"], b["width"], b["height"]
    w = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = w * h
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def _overlap(a: dict, b: dict) -> float:
    shared = max(0, min(a["end"], b["end"]) - max(a["start"], b["start"]))
    shorter = min(a["end"] - a["start"], b["end"] - b["start"])
    return shared / shorter if shorter > 0 else 0.0


def _similarity(a: dict, b: dict) -> float:
    return _overlap(a["value"], b["value"]) if "start" in a["value"] else _iou(a["value"], b["value"])


def _pair(xs: list[dict], ys: list[dict]) -> tuple[dict, set, set]:
    """Greedy one-to-one pairing of two lists of results (dicts with ``key``, ``from_name``,
    ``value``), best similarity first, of one control: {x index: y index}, and the unpaired."""
    cands = sorted((-_similarity(x, y), min(x["key"], y["key"]), max(x["key"], y["key"]), i, j)
                   for i, x in enumerate(xs) for j, y in enumerate(ys)
                   if x["from_name"] == y["from_name"] and _similarity(x, y) >= PAIR)
    pairs: dict[int, int] = {}
    for _, _, _, i, j in cands:
        if i not in pairs and j not in pairs.values():
            pairs[i] = j
    return pairs, set(range(len(xs))) - set(pairs), set(range(len(ys))) - set(pairs.values())


def _labels(r: dict) -> tuple:
    v = r["value"]
    return tuple(sorted(set(next(v[k] for k in ("rectanglelabels", "labels", "polygonlabels") if k in v))))


def _result(r: dict, score: float | None = None) -> dict:
    return {"key": f"{r['id']}/{r['from_name']}", "from_name": r["from_name"], "value": r["value"],
            "labels": _labels(r), "score": r.get("score", score)}


def _who(ann: dict) -> str:
    c = ann.get("completed_by")
    return c["email"] if isinstance(c, dict) else str(c)


def _answers(task: dict) -> dict[str, dict]:
    """annotator -> their latest answer that is not a skip (its regions as :func:`_result`)."""
    out: dict[str, dict] = {}
    for a in task.get("annotations") or []:
        if a.get("was_cancelled"):
            continue
        ts = a.get("updated_at") or a.get("created_at") or ""
        if _who(a) not in out or ts > out[_who(a)]["ts"]:
            regions = [_result(r) for r in a["result"] if r.get("type") in ("rectanglelabels", "labels")]
            out[_who(a)] = {"ts": ts, "gt": bool(a.get("ground_truth")), "regions": regions}
    return out


def _expected(export: list[dict], keys: dict, threshold: float, since: list[dict] | None = None) -> list[tuple]:
    """Every region item: (task key, control, region key, labels, score, reasons as sorted
    (kind, weight, who)), sorted."""
    items: dict[tuple, list] = {}

    def add(task: str, r: dict, owner: str, kind: str, weight: float, who: str) -> None:
        items.setdefault((task, r["from_name"], owner, r["key"], ", ".join(r["labels"])), []).append(
            (kind, round(weight, 6), who))

    before = {(t["id"], w): a for t in since or [] for w, a in _answers(t).items()}
    for t in export:
        task, answers = keys[t["id"]], _answers(t)
        with_regions = [(w, a) for w, a in answers.items() if a["regions"]]
        gold = max(with_regions, key=lambda wa: (wa[1]["gt"], wa[1]["ts"]), default=(None, {"regions": []}))
        for p in _best_predictions(t) if answers else []:
            sure = [_result(r, p.get("score")) for r in p["result"]]
            sure = [r for r in sure if r["score"] is not None and r["score"] >= threshold]
            pairs, _, missed = _pair(gold[1]["regions"], sure)
            for i, j in pairs.items():
                if gold[1]["regions"][i]["labels"] != sure[j]["labels"]:
                    add(task, gold[1]["regions"][i], gold[0], "swapped", sure[j]["score"], p["model_version"])
            for j in missed:
                add(task, sure[j], p["model_version"], "missed", sure[j]["score"], p["model_version"])
        if len(answers) >= 3:
            _majority(task, answers, add)
        for w, a in answers.items():
            old = {r["key"]: r for r in (before.get((t["id"], w)) or {"regions": []})["regions"]}
            for r in a["regions"]:
                if r["key"] in old and old[r["key"]]["labels"] != r["labels"]:
                    add(task, r, w, "changed", 0.5, w)
    return sorted((k[0], k[1], k[3], k[4], round(sum(x[1] for x in v), 6), tuple(sorted(v)))
                  for k, v in items.items())


def _best_predictions(task: dict) -> list[dict]:
    best: dict[str, dict] = {}
    for p in task.get("predictions") or []:
        if isinstance(p, dict):
            m = p["model_version"]
            if m not in best or (p.get("score") or -1) > (best[m].get("score") or -1):
                best[m] = p
    return list(best.values())


def _majority(task: str, answers: dict, add) -> None:
    others = len(answers) - 1
    for w, a in answers.items():
        dissent = Counter()
        for v, b in answers.items():
            if v != w:
                pairs, lone, _ = _pair(a["regions"], b["regions"])
                for i in lone:
                    dissent[i] += 1
                for i, j in pairs.items():
                    dissent[i] += a["regions"][i]["labels"] != b["regions"][j]["labels"]
        for i, n in dissent.items():
            if 2 * n > others:
                add(task, a["regions"][i], w, "majority", n / others, w)


def _got(res) -> list[tuple]:
    """The region items of a result, as :func:`_expected` writes them."""
    return sorted((i["task_key"], i["control"], i["region"], i["label"], i["score"],
                   tuple(sorted((r["kind"], r["weight"], r.get("model") or r.get("annotator")) for r in i["reasons"])))
                  for i in res.items if "region" in i)


def _ranked(res) -> None:
    scores = [i["score"] for i in res.items]
    assert scores == sorted(scores, reverse=True)


def _where(r: dict) -> str:
    v = r["value"]
    if "start" in v:
        return f"span {v['start']}-{v['end']} '{v['text']}'"
    return f"box x {v['x']:.3g}% y {v['y']:.3g}% w {v['width']:.3g}% h {v['height']:.3g}%"


def _places(export: list[dict]) -> dict[str, set]:
    """region key -> where each result of that key (answers' and predictions') is."""
    out: dict[str, set] = {}
    for t in export:
        for r in [r for a in t.get("annotations") or [] for r in a["result"]] + \
                 [r for p in t.get("predictions") or [] if isinstance(p, dict) for r in p["result"]]:
            out.setdefault(f"{r['id']}/{r['from_name']}", set()).add(_where(r))
    return out


def _written(res) -> str:
    with CliRunner().isolation() as (out, _, _):
        click.echo(suspects_json(res))
        return out.getvalue().decode()


# ---------------------------------------------------------------- the corpus


def test_evalme_boxes_of_three_annotators_and_a_model():
    """The evalme export: three annotators' boxes and a model's (score 0.95) on five images. The
    boxes a model predicts where the resolved answer (the latest) has none are ``missed``; the
    boxes two other annotators have no box for (or one of other labels) are ``majority``."""
    export = _load("evalme_bbox_multi.json")
    t = _tables(export)
    res = suspects(t.annotations, t.predictions)
    want = _expected(export, _task_keys(t), 0.9)
    assert {k for w in want for k, _, _ in w[5]} == {"missed", "majority"}
    assert _got(res) == want and res.total == len(want)
    assert res.counts == dict(Counter(k for w in want for k, _, _ in w[5]))
    _ranked(res)
    places = _places(export)
    assert all(i["where"] in places[i["region"]] for i in res.items)
    assert _written(res) == emitted(res.to_json())
    for i in res.items:
        for r in i["reasons"]:
            if r["kind"] == "missed":
                assert r["text"] == f"model 1 predicts {i['label']} (score 0.95); no region of " \
                                    "annotator2@example.com's answer is there"
            else:
                assert r["text"].startswith(f"{r['annotator']}'s region {i['label']}: of 2 others, ")
    # a stricter threshold than the model's score: only the annotators' majority is left
    strict = suspects(t.annotations, t.predictions, threshold=0.96)
    assert _got(strict) == _expected(export, _task_keys(t), 0.96) and "missed" not in strict.counts


def _relabeled_model(export: list[dict], model: str, every: int, far: bool) -> list[dict]:
    """A copy of ``export`` with a second model's predictions made of each task's labeled regions:
    every ``every``-th one given another label, and (``far``) one region where none is labeled."""
    out = copy.deepcopy(export)
    for t in out:
        ann = t["annotations"][0]
        result = []
        for n, r in enumerate(ann["result"]):
            r = copy.deepcopy(r)
            r["id"] = f"m{n}"
            key = "rectanglelabels" if "rectanglelabels" in r["value"] else "labels"
            if n % every == 0:
                r["value"][key] = ["Airplane" if key == "rectanglelabels" else "ORG" if r["value"][key] != ["ORG"]
                                   else "PER"]
            result.append(r)
        if far:
            text = t["data"]["text"]
            taken = [(r["value"]["start"], r["value"]["end"]) for r in ann["result"]]
            word = next(i for i in range(len(text) - 4)
                        if text[i:i + 4].isalpha() and all(e <= i or s >= i + 4 for s, e in taken))
            result.append({"id": "far", "from_name": "label", "to_name": "text", "type": "labels",
                           "value": {"start": word, "end": word + 4, "text": text[word:word + 4], "labels": ["LOC"]}})
        t["predictions"] = [p for p in t.get("predictions") or [] if isinstance(p, dict)] + \
            [{"model_version": model, "score": 0.95, "result": result}]
    return out


def test_ner_spans_against_a_model():
    """The nerine export: one annotator's spans, an LLM's pre-annotations with no score. Those can
    be neither missed nor swapped (a note says so). A second model made of the labeled spans, every
    third given another label and one placed on a word no span covers, scored 0.95: the relabeled
    spans are ``swapped``, the new one ``missed``, as the computation here finds them."""
    export = _load("ner_predictions_nerine.json")
    t = _tables(export)
    res = suspects(t.annotations, t.predictions)
    assert res.total == 0 and res.notes == [
        "llm-preannotation-v1-cleaned: 89 predicted region(s) of labeled tasks have no score: none can be missed or "
        "swapped (that needs a score of at least --threshold)"]
    derived = _relabeled_model(export, "ner-v2", 3, far=True)
    t = _tables(derived)
    res = suspects(t.annotations, t.predictions, models=["ner-v2"])
    want = _expected(derived, _task_keys(t), 0.9)
    assert _got(res) == want and res.counts == dict(Counter(k for w in want for k, _, _ in w[5]))
    assert res.counts["missed"] == len(export) and res.counts["swapped"] >= len(export)
    _ranked(res)
    places = _places(derived)
    assert all(i["where"] in places[i["region"]] for i in res.items)
    swapped = next(i for i in res.items if i["reasons"][0]["kind"] == "swapped")
    assert swapped["reasons"][0]["text"].startswith(f"2 labeled {swapped['label']}; ner-v2 predicts ")
    assert swapped["reasons"][0]["text"].endswith("there (score 0.95, overlap 1.00)")


def test_a_predicted_box_s_own_score_counts_over_its_prediction_s():
    """The SDK's export of boxes with predictions whose results carry their own score (0.23 and
    0.30, the predictions 0.72 and 0.36). Its model's boxes all sit on labeled boxes of their label:
    nothing is suspect. A second model of the same boxes, scored as they are but labeled
    'Airplane': at --threshold 0.25 only the box scored 0.30 is ``swapped`` (its prediction's 0.72
    does not make the 0.23 box confident)."""
    export = _load("sdk_bbox_reviews_predictions.json")
    t = _tables(export)
    assert suspects(t.annotations, t.predictions, threshold=0.2).total == 0 == len(
        _expected(export, _task_keys(t), 0.2))
    derived = copy.deepcopy(export)
    for task in derived:
        p = copy.deepcopy(task["predictions"][0])
        p["model_version"] = "model 1"
        for r in p["result"]:
            r["value"]["rectanglelabels"] = ["Airplane"]
        task["predictions"].append(p)
    t = _tables(derived)
    res = suspects(t.annotations, t.predictions, threshold=0.25)
    want = _expected(derived, _task_keys(t), 0.25)
    assert _got(res) == want and [w[5] for w in want] == [(("swapped", 0.296246, "model 1"),)]
    (item,) = res.items
    assert item["region"] == "oid7/label" and item["where"] == "box x 92.9% y 57.4% w 7.5% h 44.2%"


# ---------------------------------------------------------------- a repository, the command line


def test_the_command_line_on_a_reviewed_box_version(repo, tmp_path):
    """v1: the evalme export; v2: annotator3 relabeled a box 'Car' -> 'Obstacle'. ``suspects v2``
    lists it as ``changed`` (against v1, its parent) with the missed and majority boxes;
    ``--json`` keeps to the schema, ``--out`` writes the tasks in rank order, the text says
    where each region is, and the HTML has the region's columns."""
    export = _load("evalme_bbox_multi.json")
    (tmp_path / "v1.json").write_text(json.dumps(export))
    reviewed = copy.deepcopy(export)
    ann = next(a for a in reviewed[0]["annotations"] if _who(a) == "annotator3@example.com")
    box = next(r for r in ann["result"] if r["value"]["rectanglelabels"] == ["Car"])
    box["value"]["rectanglelabels"] = ["Obstacle"]
    (tmp_path / "v2.json").write_text(json.dumps(reviewed))
    repo.snapshot(str(tmp_path / "v1.json"), config=str(LS / "evalme_bbox_multi.xml"), message="boxes")
    repo.snapshot(str(tmp_path / "v2.json"), message="reviewed")
    code, out, err = invoke("suspects", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert not list(validator("suspects").iter_errors(doc))
    t = _tables(reviewed)
    res = repo.suspects()
    assert _got(res) == _expected(reviewed, _task_keys(t), 0.9, since=export)
    assert doc["suspects"] == res.items and doc["counts"]["changed"] == 1
    (changed,) = [i for i in res.items if any(r["kind"] == "changed" for r in i["reasons"])]
    assert changed["region"] == f"{box['id']}/label" and changed["label"] == "Obstacle"
    assert "annotator3@example.com's region changed since v1: Car -> Obstacle" in \
        [r["text"] for r in changed["reasons"]]
    keys = tmp_path / "keys.txt"
    code, out, err = invoke("suspects", "--out", str(keys), "-n", "3")
    assert code == 0, err
    assert keys.read_text().splitlines() == list(dict.fromkeys(i["task_key"] for i in res.items))
    lines = out.splitlines()
    assert lines[0] == f"{res.total} suspect label(s), top 3:"
    for line, i in zip(lines[1:], res.items):
        assert line == f"  {i['score']:.2f}  {i['task_key']}  label={i['label']} ({i['region']}: {i['where']})  " + \
            "; ".join(r["text"] for r in i["reasons"])
    html = res._repr_html_()
    assert ">region</th>" in html and ">where</th>" in html and changed["where"] in html


# ---------------------------------------------------------------- a property


def _box(x: float, y: float, w: float, h: float, label: str) -> dict:
    return {"x": x, "y": y, "width": w, "height": h, "rotation": 0, "rectanglelabels": [label]}


def _span(a: int, b: int, label: str) -> dict:
    return {"start": a, "end": b, "text": "x" * (b - a), "labels": [label]}


@st.composite
def _version(draw):
    """One task's regions of the resolved answer (left of x = 50 / before offset 500), a model's
    region exactly on one of them with its label, one far from all (right of x = 60 / from 1000),
    and a few anywhere; boxes or spans."""
    spans = draw(st.booleans())
    label = st.sampled_from(["A", "B", "C"])
    if spans:
        shape = st.builds(lambda a, n, lab: _span(a, a + n, lab), st.integers(0, 480), st.integers(1, 20), label)
        far = st.builds(lambda a, n, lab: _span(a, a + n, lab), st.integers(1000, 1080), st.integers(1, 20), label)
        anywhere = st.builds(lambda a, n, lab: _span(a, a + n, lab), st.integers(0, 1080), st.integers(1, 20), label)
    else:
        shape = st.builds(_box, st.floats(0, 40), st.floats(0, 90), st.floats(1, 10), st.floats(1, 10), label)
        far = st.builds(_box, st.floats(60, 90), st.floats(0, 90), st.floats(1, 10), st.floats(1, 10), label)
        anywhere = st.builds(_box, st.floats(0, 90), st.floats(0, 90), st.floats(1, 10), st.floats(1, 10), label)
    gold = draw(st.lists(shape, min_size=1, max_size=6, unique_by=lambda v: json.dumps({**v, "labels": 0,
                                                                                        "rectanglelabels": 0})))
    on = draw(st.integers(0, len(gold) - 1))
    return spans, gold, on, draw(far), draw(st.lists(anywhere, max_size=4))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_version(), st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.booleans())
def test_a_prediction_on_a_labeled_region_is_never_suspect_and_one_far_from_all_always_is(v, t, s, latest):
    """A model's region placed exactly on a region of the resolved answer, with its label, is
    never ``missed`` and never makes that region ``swapped``; one far from every labeled region,
    scored at least the threshold, is always ``missed`` (weight: its score), whatever other
    regions the model predicts, and whether the answer is the latest or another's, older, marked
    ground truth."""
    spans, gold, on, far, others = v
    threshold, score = sorted((t, s))
    kind, ctl = ("labels", "ner") if spans else ("rectanglelabels", "box")
    lab = (lambda r: r["labels"]) if spans else (lambda r: r["rectanglelabels"])
    rows = [{"task": "t1", "who": "alice", "labels": lab(g), "type": kind, "control": ctl, "value": g,
             "region": f"g{i}/{ctl}", "gt": not latest, "ts": "2026-01-01T00:00:00Z"} for i, g in enumerate(gold)]
    rows.append({"task": "t1", "who": "bob", "labels": lab(far), "type": kind, "control": ctl, "value": far,
                 "region": f"b0/{ctl}", "ts": "2026-01-02T00:00:00Z" if not latest else "2025-12-01T00:00:00Z"})
    preds = predictions_table([{"task": "t1", "model": "m", "labels": lab(r), "score": score, "control": ctl,
                                "type": kind, "value": r} for r in [gold[on], far, *others]])
    res = suspects(answers_table(rows), preds, threshold=threshold)
    by = {(i["region"], r["kind"]): r for i in res.items for r in i["reasons"]}
    assert (f"p0/{ctl}", "missed") not in by and (f"g{on}/{ctl}", "swapped") not in by
    assert by[(f"p1/{ctl}", "missed")]["weight"] == round(score, 6)
    # two annotators: no majority; far from each other, each region is a split unless alice's is ground truth
    assert all(k in ("missed", "swapped", "split") for _, k in by)
    assert {r for r, k in by if k == "split"} == ({f"g{i}/{ctl}" for i in range(len(gold))} | {f"b0/{ctl}"}
                                                   if latest else set())


def test_a_scoreless_or_unsure_prediction_is_not_suspect_and_regions_rank_with_labels():
    """A predicted region below the threshold, or with no score at all, is never missed; region
    items rank among classification items by score (a label of the same task beside them)."""
    ann = answers_table([
        {"task": "t1", "who": "alice", "labels": ["pos"]},
        {"task": "t1", "who": "alice", "labels": ["A"], "type": "labels", "control": "ner", "value": _span(0, 4, "A"),
         "region": "a/ner"}])
    preds = predictions_table([
        {"task": "t1", "model": "m", "labels": ["neg"], "score": 0.97},
        {"task": "t1", "model": "m", "labels": ["B"], "score": 0.97, "control": "ner", "type": "labels",
         "value": _span(10, 14, "B"), "key": "m#0"},
        {"task": "t1", "model": "n", "labels": ["B"], "score": None, "control": "ner", "type": "labels",
         "value": _span(20, 24, "B"), "key": "n#0"},
        {"task": "t1", "model": "o", "labels": ["B"], "score": 0.5, "control": "ner", "type": "labels",
         "value": _span(30, 34, "B"), "key": "o#0"}])
    res = suspects(ann, preds)
    assert [(i["control"], i.get("region"), i["score"]) for i in res.items] == [("ctl", None, 0.97),
                                                                              ("ner", "p1/ner", 0.97)]
    assert res.items[1] == {"task_key": "t1", "control": "ner", "region": "p1/ner", "label": "B",
                            "where": "span 10-14 'xxxx'", "score": 0.97, "reasons": [
                                {"kind": "missed", "weight": 0.97, "model": "m",
                                 "text": "m predicts B (score 0.97); no region of alice's answer is there"}]}
    assert res.notes == ["n: 1 predicted region(s) of labeled tasks have no score: none can be missed or swapped "
                         "(that needs a score of at least --threshold)"]
    assert res.task_keys() == ["t1"] and _written(res) == emitted(res.to_json())
    assert [len(x) for x in (res.top(1), res.top(2), suspects(ann, preds, limit=1).items)] == [1, 2, 1]
    assert suspects(ann, preds, limit=1).items == res.items[:1]


def test_the_report_says_where_each_suspect_region_is(repo, tmp_path):
    """`annover report`'s top suspects name each region and where it is, as `annover suspects`
    does (was: task, control, label, score and reasons, and no way to find the box)."""
    corpus = shared_corpus("label-studio")
    code, _, err = invoke("snapshot", "--from", str(corpus / "evalme_bbox_multi.json"), "--config",
                          str(corpus / "evalme_bbox_multi.xml"), "-m", "boxes")
    assert code == 0, err
    code, out, err = invoke("suspects", "--json")
    assert code == 0, err
    listed = json.loads(out)["suspects"]
    assert listed and all("where" in i for i in listed)
    code, _, err = invoke("report", "--out", str(tmp_path / "r.html"))
    assert code == 0, err
    page = (tmp_path / "r.html").read_text()
    section = page[page.rindex("Top suspects"):]  # the section, not the link to it
    rows = re.findall(r"<tr>(.*?)</tr>", section, re.S)
    head = re.findall(r"<th>(.*?)</th>", section[:section.index("</thead>")])
    assert head[:4] == ["task", "control", "region", "where"], head
    cells = [[html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
             for r in rows]
    shown = {(c[0], c[2], c[3]) for c in cells if len(c) == len(head)}
    assert {(i["task_key"], i["region"], i["where"]) for i in listed[:len(shown)]} == shown
