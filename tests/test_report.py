"""``annover report``: one self-contained HTML page, opened in headless Chromium (Debian's).

The repository is three rounds of a generated sentiment + entities project: three
annotators of different care (one drifts in round 3), skips, a ground truth, two model
versions. The browser must see no console error and make no request besides the file.
``ANNOVER_REPORT_SCREENSHOT=docs/img/report.png pytest tests/test_report.py`` keeps the
screenshot (that is how the README's picture is made); otherwise it stays in a temporary folder.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from pathlib import Path

import pyarrow.compute as pc
import pytest

import annover
from annover.loop import api, report
from tests.conftest import EXAMPLES

#: ``ANNOVER_REPORT_SCREENSHOT=PATH`` (relative to the folder pytest starts in: the fixtures change folder)
SCREENSHOT = (Path(os.environ["ANNOVER_REPORT_SCREENSHOT"]).resolve() if os.environ.get("ANNOVER_REPORT_SCREENSHOT")
              else None)

SENTIMENTS = ["positive", "negative", "neutral"]
PEOPLE = [("Maria", "Acme", "Lisbon"), ("Kenji", "Globex", "Osaka"), ("Ana", "Initech", "Porto"),
          ("Tom", "Umbrella", "Leeds"), ("Lea", "Hooli", "Bern")]
ANNOTATORS = [("alice@example.com", 0.08), ("bob@example.com", 0.18), ("carol@example.com", 0.3)]


def _spans(i: int, rng: random.Random, shift: bool) -> tuple[str, list[tuple[int, int, str]]]:
    name, org, city = PEOPLE[i % len(PEOPLE)]
    text = f"{name} from {org} visited {city} last week."
    spans = [(0, len(name), "PER"), (text.index(org), text.index(org) + len(org), "ORG"),
             (text.index(city), text.index(city) + len(city), "LOC")]
    out = []
    for s, e, lab in spans:
        if rng.random() < 0.1:
            continue  # missed
        if shift and rng.random() < 0.3:
            e = max(s + 1, e - 2)
        if rng.random() < 0.08:
            lab = "MISC"
        out.append((s, e, lab))
    return text, out


def make_round(n_tasks: int, round_no: int, seed: int = 7) -> list[dict]:
    """A Label Studio export of ``n_tasks`` tasks as round ``round_no`` has them."""
    rng = random.Random(seed)
    tasks = []
    for i in range(n_tasks):
        truth = rng.choices(SENTIMENTS, weights=[5, 3, 2])[0]
        r = random.Random(seed * 1000 + i)  # a task's answers do not depend on the round, unless reviewed
        ents = i % 3 == 0
        text = f"Review {i}: the product was {truth}." if not ents else None
        who = ANNOTATORS if i % 5 < 2 else [ANNOTATORS[i % 3]]
        anns = []
        for k, (email, noise) in enumerate(who):
            if round_no >= 3 and email.startswith("carol"):
                noise = 0.5  # carol drifts
            label = truth if r.random() > noise else r.choice(SENTIMENTS)
            if round_no >= 2 and i % 17 == 4 and email.startswith("alice"):
                label = truth  # a review fixed it
            result = [{"id": f"s{i}-{k}", "from_name": "sentiment", "to_name": "text", "type": "choices",
                       "value": {"choices": [label]}}]
            if ents:
                text, spans = _spans(i, r, shift=email.startswith("carol"))
                result += [{"id": f"e{i}-{k}-{j}", "from_name": "entities", "to_name": "text", "type": "labels",
                            "value": {"start": s, "end": e, "text": text[s:e], "labels": [lab]}}
                           for j, (s, e, lab) in enumerate(spans)]
            skip = i % 23 == 7 and k == 0
            anns.append({"id": 10000 * round_no + 10 * i + k, "completed_by": {"id": k + 1, "email": email},
                         "result": [] if skip else result, "was_cancelled": skip, "ground_truth": i == 1 and k == 0,
                         "created_at": f"2026-10-{1 + i % 28:02d}T10:00:00Z", "updated_at": f"2026-10-{1 + i % 28:02d}T10:00:00Z",
                         "lead_time": 5.0 + i % 7})
        if i % 11 == 10 and i >= n_tasks - 12:
            anns = []  # still to label
        preds = []
        for mv, acc, since in (("sentiment-bert-v1", 0.75, 1), ("sentiment-bert-v2", 0.88, 3)):
            if round_no < since:
                continue
            pr = random.Random(seed * 7 + i * 13 + len(mv))
            lab = truth if pr.random() < acc else pr.choice([s for s in SENTIMENTS if s != truth])
            preds.append({"id": 50000 + i * 3 + since, "model_version": mv, "score": round(0.45 + 0.55 * pr.random(), 2),
                          "result": [{"id": f"p{i}-{since}", "from_name": "sentiment", "to_name": "text",
                                      "type": "choices", "value": {"choices": [lab]}}]})
        tasks.append({"id": 1000 + i, "data": {"ext_id": f"rev-{i:03d}", "text": text or f"Review {i}."},
                      "annotations": anns, "predictions": preds})
    return tasks


@pytest.fixture
def loop_repo(tmp_path, monkeypatch):
    """Three rounds: 60 tasks, then 90, then 120 (v1, v2, v3)."""
    root = tmp_path / "labels"
    repo = annover.init(root)
    shutil.copy(EXAMPLES / "labeling.xml", root / "labeling.xml")
    monkeypatch.chdir(root)
    for n, size in enumerate((60, 90, 120), start=1):
        (root / f"round{n}.json").write_text(json.dumps(make_round(size, n)))
        repo.snapshot(f"round{n}.json", config="labeling.xml" if n == 1 else None, key="data.ext_id",
                      message=f"round {n}")
    return repo


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        (pytest.fail if os.environ.get("CI") else pytest.skip)("needs Chromium: apt-get install chromium")
    return sync_api


def test_report_renders_in_chromium_with_no_errors_and_no_requests(loop_repo, tmp_path):
    out = tmp_path / "report.html"
    res = loop_repo.report("HEAD", out)
    page_html = out.read_text()
    assert res.sections == ["Overview", "Annotators and agreement", "Model vs labels", "Label transitions", "Drift",
                            "History", "Top suspects"]
    # self-contained: nothing to fetch (no script, no stylesheet, image or font by URL)
    assert "<script" not in page_html and not re.search(r"""(src|href)=["'](?!#)""", page_html)
    assert "NaN" not in page_html and "nan<" not in page_html
    sync_api = _browser()
    errors, requests = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1160, "height": 1400})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(out.as_uri())
            page.wait_for_load_state("load")
            assert page.title() == "annover report: v3"
            assert page.locator("svg.chart").count() >= 8
            assert page.locator("h2").all_inner_texts() == res.sections
            # the pictures have their numbers in tables beside them
            assert "Krippendorff's α" in page.inner_text("body") and "sentiment-bert-v2" in page.inner_text("body")
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=False)
            assert shot.stat().st_size > 20000
            if SCREENSHOT is not None:
                shutil.copy(shot, SCREENSHOT)
            # a label keeps its colour from the overview's bars to the class balance of the history
            fills = page.evaluate("""() => {
                const out = {};
                for (const r of document.querySelectorAll("svg.chart rect")) {
                  const t = r.querySelector("title"); if (!t) continue;
                  const m = t.textContent.match(/^(?:v\\d+ )?(positive|negative|neutral):/);
                  if (m) (out[m[1]] = out[m[1]] || new Set()).add(r.getAttribute("fill"));
                }
                return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v]]));
            }""")
            assert fills and all(len(v) == 1 for v in fills.values()), fills
            # on a phone the page is no wider than the screen: charts scale, tables scroll inside
            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.goto(out.as_uri())
            phone.wait_for_load_state("load")
            assert phone.evaluate("document.documentElement.scrollWidth") <= 390
            phone.screenshot(path=str(tmp_path / "report-phone.png"), full_page=False)
        finally:
            browser.close()
    assert errors == []
    assert requests == [out.as_uri()]


def test_report_of_a_range_compares_its_ends_and_refuses_to_overwrite(loop_repo, tmp_path):
    out = tmp_path / "r.html"
    res = loop_repo.report("v1..v3", out)
    text = out.read_text()
    assert "From v1 to v3" in text and res.version["name"] == "v3"
    assert text.count('<circle') >= 3  # agreement over the three versions
    with pytest.raises(annover.AnnoverError, match="exists"):
        loop_repo.report("v1..v3", out)
    loop_repo.report("v1", out, force=True)
    assert "Label transitions" not in out.read_text()  # v1 has no earlier version


def test_report_reads_each_version_once(loop_repo, tmp_path, monkeypatch):
    """The version before HEAD is the one the changes are measured from and a point of the
    history too: its annotations are read once for both (at 1M rows a read is seconds)."""
    reads: list[tuple[str, str]] = []
    load = type(loop_repo).load
    monkeypatch.setattr(type(loop_repo), "load", lambda self, rev, table="annotations", *a, **k: (
        reads.append((rev, table)), load(self, rev, table, *a, **k))[1])
    loop_repo.report("HEAD", tmp_path / "r.html")
    annotations = [rev for rev, table in reads if table == "annotations"]
    # v3, v2, and v1 for the history unless its agreement is in the per-user cache already
    assert len(annotations) == len(set(annotations)) in (2, 3), reads


def test_report_of_the_shipped_sample(two_rounds, tmp_path):
    repo, _, _ = two_rounds
    res = repo.report("v2", tmp_path / "s.html")
    assert res.size > 10000 and "Top suspects" in res.sections


def test_history_charts_tell_versions_apart_when_their_names_share_a_prefix():
    """Twelve tags such as 2024-round-01-reviewed: the names under the history charts were cut to
    their first ten characters ("2024-round" twelve times, run into each other); each is told
    apart now, and a point's tooltip names its version."""
    xs = [f"2024-round-{i:02d}-reviewed" for i in range(1, 13)]
    for svg in (report.lines(xs, {"sentiment": [0.5] * 12}),
                report.stacked(xs, [{"positive": 1, "negative": 2}] * 12)):
        ticks = re.findall(r'rotate\(-40\)"[^>]*><title>([^<]*)</title>([^<]*)</text>', svg)
        assert [name for name, _ in ticks] == xs
        shown = [text for _, text in ticks]
        assert len(set(shown)) == 12 and all(x.startswith(t.rstrip("…")) for x, t in zip(xs, shown)), shown
    assert "<title>2024-round-07-reviewed sentiment: 0.500</title>" in report.lines(xs, {"sentiment": [0.5] * 12})


def test_chart_names_stay_inside_their_chart_whatever_their_letters():
    """Names were cut by characters: 22 capitals (MEDICAL_WARNING_MESSAGE, an e-mail with '@'s)
    ran past the chart's left edge and lost their first letters. Cut by width, every name of
    every chart is drawn inside its chart, in Chromium."""
    names = ["MEDICAL_WARNING_MESSAGE", "WOMBAT-MEMORIAL-WORKER", "<b>bob</b>@example.com",
             "ΩΜΕΓΑ ΜΜΜΜΜΜΜΜΜΜΜΜΜΜΜΜ", "一二三四五六七八九十一二三四五六七八九十", "ok"]
    charts = [report.bars([(n, i + 1) for i, n in enumerate(names)], 440),
              report.heatmap(names, names, [[1] * len(names)] * len(names)),
              report.lines(names, {n: [0.5] * len(names) for n in names}),
              report.stacked(names, [{n: 1 for n in names}] * len(names))]
    page_html = f"<html><head><style>{report.CSS}</style></head><body style='width:2000px'>{''.join(charts)}</body></html>"
    sync_api = _browser()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 2000, "height": 1000})
            page.set_content(page_html)
            outside = page.evaluate("""() => [...document.querySelectorAll("svg.chart")].flatMap((svg) => {
              const box = svg.getBoundingClientRect();
              return [...svg.querySelectorAll("text")].filter((t) => {
                const r = t.getBoundingClientRect();
                return r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1;
              }).map((t) => t.textContent);
            })""")
        finally:
            browser.close()
    assert outside == []


def test_class_balance_of_many_labels_gives_each_drawn_label_its_own_colour_and_legend():
    """30 labels: the class balance drew them in 10 colours (three labels per colour) with a legend of
    8; now the 9 most used keep a colour of their own and the rest are one "(21 others)", all in
    the legend."""
    labels = [f"category_{i:02d}" for i in range(30)]
    shares = [{lab: 100 + i * (v + 1) for i, lab in enumerate(labels)} for v in range(3)]
    svg = report.stacked(["v1", "v2", "v3"], shares, order=labels)
    legend = re.findall(r'font-size="11">([^<]*)</text>', svg)
    assert sorted(legend) == ["(21 others)"] + labels[21:]
    fills: dict[str, set] = {}
    for fill, lab in re.findall(r'fill="([^"]+)"><title>v\d ([^:]+):', svg):
        fills.setdefault(lab, set()).add(fill)
    assert len(fills) == 10 and all(len(f) == 1 for f in fills.values())
    assert len({next(iter(f)) for f in fills.values()}) == 10  # ten labels, ten colours
    others = re.search(r'<title>v1 \(21 others\): (\d+) ', svg)
    assert others and int(others.group(1)) == sum(shares[0][lab] for lab in labels[:21])


def test_a_second_report_takes_the_history_s_agreement_from_the_cache(loop_repo, tmp_path, monkeypatch):
    """Each older version's agreement is computed once on a machine (the per-user cache, by the
    annotations' snapshot id and the config's labels): a second report reads no older version's
    annotations and draws the same history; an entry that does not parse is computed again."""
    import json as _json

    from annover.loop import api

    first = loop_repo.report("HEAD", tmp_path / "a.html")
    reads: list[str] = []
    load = type(loop_repo).load
    monkeypatch.setattr(type(loop_repo), "load", lambda self, rev, table="annotations", *a, **k: (
        reads.append(self.resolve(rev)) if table == "annotations" else None, load(self, rev, table, *a, **k))[1])
    second = loop_repo.report("HEAD", tmp_path / "b.html")
    head, parent = loop_repo.show("HEAD"), loop_repo.show("HEAD~1")
    assert sorted(set(reads)) == sorted({head.id, parent.id}), reads  # v1 came from the cache
    assert (tmp_path / "a.html").read_text() == (tmp_path / "b.html").read_text()
    assert first.sections == second.sections
    v1 = loop_repo.show("v1")
    path = api._agreement_path(loop_repo, v1, api.config_labels(loop_repo, v1))
    want = api.headline(loop_repo.agreement("v1").to_json())
    assert _json.loads(path.read_text())["controls"] == want
    path.write_text("{not json")
    reads.clear()
    assert api.history_agreement(loop_repo, v1) == want and reads == [v1.id]


def test_report_suspects_compare_with_the_earlier_answers_of_touched_tasks_only(two_rounds, monkeypatch):
    """The report's suspects look for changed answers in v1's rows of the tasks the diff found
    touched only (no other task has an answer whose label changed): the same suspects as
    against the whole of v1."""
    repo, _, _ = two_rounds
    seen = []
    real = report.suspects

    def spy(ann, preds, previous, session=None, **kw):
        seen.append((previous, kw))
        return real(ann, preds, previous, session=session, **kw)
    monkeypatch.setattr(report, "suspects", spy)
    data = report.collect(repo, "v2")
    [(previous, kw)] = seen
    whole = repo.load("v1", "annotations")
    assert 0 < previous.num_rows < whole.num_rows
    assert data["suspects"] == real(repo.load("v2", "annotations"), repo.load("v2", "predictions"), whole,
                                    **kw).to_json()
    assert data["suspects"]["counts"].get("changed")


def test_suspects_compare_with_the_earlier_answers_of_touched_tasks_only(two_rounds, monkeypatch):
    """``annover suspects`` looks for changed answers in v1's rows of the tasks whose stored task
    hashes differ (every other task has the same rows in both versions): the same suspects as
    against the whole of v1."""
    repo, _, _ = two_rounds
    touched = repo.touched_tasks("v1", "v2")
    whole, now = repo.load("v1", "annotations"), repo.load("v2", "annotations")
    rest = lambda t: t.filter(pc.invert(pc.is_in(t.column("task_key"), value_set=touched))).to_pylist()  # noqa: E731
    assert 0 < len(touched) < len(pc.unique(whole.column("task_key"))) and rest(whole) == rest(now)
    seen = []
    real = api.suspects
    monkeypatch.setattr(api, "suspects", lambda ann, preds, prev, **kw: seen.append(prev) or real(ann, preds, prev, **kw))
    got = api.run_suspects(repo, "v2").to_json()
    [previous] = seen
    assert 0 < previous.num_rows < whole.num_rows
    want = real(now, repo.load("v2", "predictions"), whole, since="v1").to_json()
    assert (got["suspects"], got["counts"], got["total"]) == (want["suspects"], want["counts"], want["total"])
    assert got["counts"].get("changed")


def test_report_builds_the_version_s_ratings_once_for_agreement_and_suspects(loop_repo, monkeypatch):
    """Agreement and suspects run in one session: the version's ratings (a million rows at a
    million answers) are built once, and the page is the same as each built on its own."""
    from annover.loop import queries as Q
    from annover.loop.agreement import agreement
    from annover.loop.suspects import suspects

    report.collect(loop_repo, "HEAD")  # the older versions' agreement now in the per-user cache
    made: list[str] = []
    make = Q.Session.make
    monkeypatch.setattr(Q.Session, "make", lambda self, name, sql: (made.append(name), make(self, name, sql))[1])
    data = report.collect(loop_repo, "HEAD")
    assert made.count("ratings") == 1 and made.count("pratings") == 1, made
    monkeypatch.setattr(Q.Session, "make", make)
    ann, preds = loop_repo.load("HEAD", "annotations"), loop_repo.load("HEAD", "predictions")
    assert data["agreement"] == agreement(ann, api.config_labels(loop_repo, loop_repo.show("HEAD"))).to_json()
    touched = loop_repo.touched_tasks("HEAD~1", "HEAD")
    prev = loop_repo.load("HEAD~1", "annotations")
    prev = prev.filter(pc.is_in(prev.column("task_key"), value_set=touched))
    assert data["suspects"] == suspects(ann, preds, prev, since=data["suspects"]["options"]["since"],
                                        limit=report.SUSPECTS_SHOWN).to_json()


def test_report_scores_each_model_in_the_session_agreement_built(loop_repo, monkeypatch):
    """Each model's eval runs in the report's session: the labels it resolves and the answers'
    regions are made once for all the models (agreement made the ratings and the regions already;
    each model's eval made its own of both), and each model's figures are those of eval alone."""
    from annover.loop import queries as Q
    from annover.loop.evaluate import evaluate

    report.collect(loop_repo, "HEAD")  # the older versions' agreement now in the per-user cache
    made: list[str] = []
    make = Q.Session.make
    monkeypatch.setattr(Q.Session, "make", lambda self, name, sql: (made.append(name), make(self, name, sql))[1])
    gold = Q.resolved_regions_sql  # the resolved answers' regions, read once for both models too
    monkeypatch.setattr(Q, "resolved_regions_sql", lambda *a: (made.append("gold"), gold(*a))[1])
    data = report.collect(loop_repo, "HEAD")
    models = sorted(loop_repo.show("HEAD").model_versions)
    assert len(models) == 2 and made.count("regions") == made.count("ratings") == made.count("eres") == 1, made
    assert made.count("gold") == 1, made
    monkeypatch.setattr(Q, "resolved_regions_sql", gold)
    monkeypatch.setattr(Q.Session, "make", make)
    ann, preds = loop_repo.load("HEAD", "annotations"), loop_repo.load("HEAD", "predictions")
    assert data["models"][models[0]]["controls"]["sentiment"]["tasks"] > 0
    assert data["models"] == {mv: evaluate(ann, preds, mv).to_json() for mv in models}


def test_eval_in_a_shared_session_gives_each_model_and_policy_the_figures_of_eval_alone(loop_repo, tmp_path):
    """Boxes of three annotators and a model, of one annotator and a model, sentiment and spans of
    two models: models scored one after the other in a session that agreement worked in, under
    each policy in turn, give eval's figures alone (its labels resolved again for each policy)."""
    from annover.loop import queries as Q
    from annover.loop.agreement import agreement
    from annover.loop.evaluate import evaluate
    from tests.conftest import shared_corpus

    corpus, repos = shared_corpus("label-studio"), [loop_repo]
    for name in ("evalme_bbox_multi", "sdk_bbox_reviews_predictions"):
        repos.append(annover.init(tmp_path / name))
        repos[-1].snapshot(str(corpus / f"{name}.json"), config=str(corpus / f"{name}.xml"), message=name)
    kinds = set()
    for repo in repos:
        ann, preds = repo.load("HEAD", "annotations"), repo.load("HEAD", "predictions")
        with Q.Session() as s:
            agreement(ann, session=s)
            for policy in ("ground-truth", "latest", "majority", "ground-truth"):
                for mv in sorted(repo.show("HEAD").model_versions):
                    alone = evaluate(ann, preds, mv, policy).to_json()
                    assert evaluate(ann, preds, mv, policy, session=s).to_json() == alone, (repo.root, mv, policy)
                    kinds |= {c["kind"] for c in alone["controls"].values()}
    assert kinds == {"classification", "regions"}


def test_report_drift_takes_the_label_counts_the_versions_stats_keep(loop_repo, monkeypatch):
    """Drift is of the (control, annotator, label) counts each version's stats keep: no table is
    counted again, and the figures are those of counting both tables."""
    from annover.loop import drift as D

    counted = []
    cells = D.label_cells
    monkeypatch.setattr(D, "label_cells", lambda *a, **k: counted.append(1) or cells(*a, **k))
    data = report.collect(loop_repo, "HEAD")
    assert counted == []
    monkeypatch.setattr(D, "label_cells", cells)
    assert data["drift"] == D.drift(loop_repo.load("HEAD~1", "annotations"), loop_repo.load("HEAD", "annotations"))


def _many_labels(n_labels: int, n_tasks: int) -> tuple[list[str], list[dict]]:
    """A Label Studio export of ``n_tasks`` tasks keyed by a long path, answered by two people with long
    e-mails over ``n_labels`` labels (one a long snake-case name), and a model's predictions."""
    labels = [f"topic_{i:02d}" for i in range(n_labels)]
    labels[0] = "MEDICAL_WARNING_MESSAGE_about_a_label_name_that_goes_on_and_on_" + "x" * 40
    rng = random.Random(5)
    people = ["alice@example.com", "bob.with.a.long.address@subdomain.example-company.com"]
    tasks = []
    for i in range(n_tasks):
        truth = labels[i % n_labels]
        anns = [{"id": 10 * i + k, "completed_by": {"id": k + 1, "email": who}, "was_cancelled": False,
                 "result": [{"id": f"r{i}{k}", "from_name": "topic", "to_name": "text", "type": "choices",
                             "value": {"choices": [truth if rng.random() < 0.7 else rng.choice(labels)]}}]}
                for k, who in enumerate(people)]
        pred = {"id": 5000 + i, "model_version": "m1", "score": 0.5,
                "result": [{"id": f"p{i}", "from_name": "topic", "to_name": "text", "type": "choices",
                            "value": {"choices": [truth if rng.random() < 0.6 else rng.choice(labels)]}}]}
        tasks.append({"id": i + 1, "data": {"ext": f"s3://bucket/a/deep/prefix/of/objects/{i:05d}-" + "k" * 30,
                                            "text": f"task {i}"}, "annotations": anns, "predictions": [pred]})
    return labels, tasks


def test_report_of_many_labels_and_long_keys_reads_on_a_desktop_a_phone_and_paper(tmp_path, monkeypatch):
    """40 labels, task keys that are long paths, long e-mails. Before: the confusion matrix drew every
    label (1,600 cells, too small to read; 220 labels made a 10 MB page); a long label or key set its
    column's width, so the tables' numbers (and the suspects' reasons) were out of sight beside them on
    an 800-pixel screen and cut off on paper, and on a phone the reasons were a few letters wide."""
    labels, tasks = _many_labels(40, 120)
    root = tmp_path / "many"
    repo = annover.init(root)
    xml = "".join(f'<Choice value="{lab}"/>' for lab in labels)
    (root / "labeling.xml").write_text(f'<View><Text name="text" value="$text"/><Choices name="topic" '
                                       f'toName="text">{xml}</Choices></View>')
    (root / "export.json").write_text(json.dumps(tasks))
    monkeypatch.chdir(root)
    repo.snapshot("export.json", config="labeling.xml", key="data.ext", message="round 1")
    out = tmp_path / "report.html"
    repo.report("HEAD", out)
    used = len({r["value"]["choices"][0] for t in tasks for a in (t["annotations"], t["predictions"]) for x in a
                for r in x["result"]})
    sync_api = _browser()
    requests = []
    widest = """() => [...document.querySelectorAll("table")].map((t) => t.scrollWidth - t.clientWidth)"""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 800, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.goto(out.as_uri())
            page.wait_for_load_state("load")
            matrix = page.locator("h4:has-text('topic: accuracy') + div svg.chart")
            assert matrix.locator("rect").count() == (report.CONFUSION_LABELS + 1) ** 2
            assert f"{used - report.CONFUSION_LABELS} rarer label(s) shown as (other)" in page.inner_text("body")
            assert max(page.evaluate(widest)) <= 0  # every column in sight
            page.screenshot(path=str(tmp_path / "many-800.png"), full_page=True)
            page.emulate_media(media="print")
            page.set_viewport_size({"width": 718, "height": 900})  # A4's printable width
            assert max(page.evaluate(widest)) <= 0
            page.emulate_media(media="screen")
            page.set_viewport_size({"width": 360, "height": 800})
            reasons = page.locator("table.wide td[data-h=reasons]").first
            assert reasons.bounding_box()["width"] > 300  # a block of its own, the width of the phone
            page.screenshot(path=str(tmp_path / "many-360.png"), full_page=True)
        finally:
            browser.close()
    assert requests == [out.as_uri()]


@pytest.mark.parametrize("partition", [None, 7], ids=["one-part", "parts"])
def test_report_pages_from_the_touched_tasks_alone_are_those_of_the_whole_diff(loop_repo, tmp_path, monkeypatch,
                                                                             partition):
    """The report asks the diff for what its page shows alone (``summary=False``: the tasks whose
    answers differ and the transitions; no counts, no model's agreement with the labels): its pages
    are byte for byte those written from the whole diff, the tasks that differ found in one part or,
    from ``PARTITION_TASKS`` on, in several."""
    from annover.diffing import answers

    if partition:
        monkeypatch.setattr(answers, "PARTITION_TASKS", partition)
    whole_diff, asked = type(loop_repo).diff, []

    def whole(self, *a, summary=True, **k):
        asked.append(summary)
        return whole_diff(self, *a, **k)
    for spec in ("HEAD", "v1..v3", "v2"):
        name = spec.replace(".", "-")
        loop_repo.report(spec, tmp_path / f"lean-{name}.html")
        with monkeypatch.context() as m:
            m.setattr(type(loop_repo), "diff", whole)
            loop_repo.report(spec, tmp_path / f"whole-{name}.html")
        assert (tmp_path / f"lean-{name}.html").read_bytes() == (tmp_path / f"whole-{name}.html").read_bytes(), spec
    assert asked == [False] * 3
    for a, b in (("v1", "v2"), ("v2", "v3"), ("v1", "v3"), ("v3", "v1"), ("v2", "v2")):
        for policy in ("latest", "majority", "ground-truth"):
            full = loop_repo.diff(a, b, transitions=True, policy=policy)
            lean = loop_repo.diff(a, b, transitions=True, policy=policy, summary=False)
            assert lean.touched.equals(full.touched) and lean.transitions == full.transitions, (a, b, policy)
        assert len(lean.touched) == (0 if a == b else full.summary["tasks"]["with_annotation_changes"])
        with pytest.raises(annover.errors.UsageError, match="summary=False"):
            lean.rows
        assert "tasks" not in lean.summary and lean.summary["a"]["rev"] == a


def test_history_with_no_defined_agreement_says_so_rather_than_drawing_empty_axes():
    """Every version of one annotator: each agreement figure is undefined, and the history drew its
    axes, the versions' names and a legend around no point, saying nothing. One line says why now."""
    h = [{"name": f"v{i}", "agreement": {"sentiment": None, "spans": None}, "labels": {}} for i in (1, 2, 3)]
    page = report._history({"history": h, "config_labels": {}})
    assert report.NO_HISTORY in page and "<svg" not in page
    h[1]["agreement"]["spans"] = 0.5  # one figure defined: the chart, its point
    assert report.NO_HISTORY not in report._history({"history": h, "config_labels": {}})
