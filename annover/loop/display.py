"""The loop's results in a notebook: the HTML their ``_repr_html_`` return.

Each function takes a result's plain data (its ``to_json()``, or the first items of the
suspects) and lays it out as the command line's text does, in the small escaped tables of
:mod:`annover._html`; long lists are capped with a row saying how many more there are.
"""

from __future__ import annotations

from typing import Any

from annover._html import ROWS, html_block, html_heading, html_notes, html_table, text
from annover.model.stats import annotator_shown
from annover.store.versions import model_named

__all__ = ["agreement_html", "eval_html", "model_as_subject", "suspects_html", "sample_html", "series_html"]


def model_as_subject(model: str) -> str:
    """Model version ``model`` as the subject of a sentence (``... says 'x'``, ``... against the labels``):
    as :func:`~annover.store.versions.model_named` names it (``""`` (no model_version) when empty, where
    the sentence had no subject), and ``model 1`` where it has no letter, which read as a count."""
    return f"model {model}" if model and not any(c.isalpha() for c in model) else model_named(model)


def _version(doc: dict | None) -> str:
    """``v3 (0123456789ab): round 3`` of a result's version (id, name, message)."""
    if not doc:
        return ""
    name, short = doc.get("name"), str(doc.get("id") or "")[:12]
    head = f"{name} ({short})" if name and name != short else short
    return f"{head}: {doc['message']}" if doc.get("message") else head


def _stat(e: dict, *names: str) -> Any:
    """The first figure of ``names`` the entry has (a ``{"value", "n"}`` dict or a number)."""
    for n in names:
        if n in e:
            return e[n]
    return None


def _control_rows(doc: dict) -> list[list[Any]]:
    rows = []
    for ctl, e in (doc.get("controls") or {}).items():
        if e.get("kind") == "classification":
            rows.append([ctl, "classification", e.get("tasks_with_two_or_more"), _stat(e, "krippendorff_alpha"),
                         _stat(e, "fleiss_kappa"), _stat(e, "cohen_kappa_mean"), e.get("note")])
        else:
            rows.append([ctl, e.get("kind"), e.get("tasks_with_two_or_more"), _stat(e, "f1"),
                         None, None, e.get("note") or ("F1 ignoring labels: " + text(e.get("f1_any_label"))
                                                       if e.get("f1_any_label") else None)])
    return rows


def agreement_html(doc: dict) -> str:
    """An agreement (``AgreementResult.to_json()``): per control, per label, the most disagreeing pairs."""
    v = (doc.get("options") or {}).get("version")
    sub = (f"{doc.get('tasks')} task(s) with answers, {doc.get('answers')} answer(s), "
           f"{len(doc.get('annotators') or {})} annotator(s)")
    parts = [html_table(["control", "kind", "tasks with 2+", "alpha / F1", "Fleiss' kappa", "mean Cohen's kappa",
                         "note"], _control_rows(doc))]
    labels = [[ctl, lab, x.get("answers"), _stat(x, "krippendorff_alpha", "f1"), _stat(x, "fleiss_kappa")]
              for ctl, e in (doc.get("controls") or {}).items() for lab, x in (e.get("labels") or {}).items()]
    if labels:
        parts += [html_heading("per label"),
                  html_table(["control", "label", "answers", "alpha / F1", "Fleiss' kappa"], labels,
                             more="to_json()['controls']")]
    pairs = [[p.get("control"), annotator_shown(p.get("a")), annotator_shown(p.get("b")), p.get("tasks"),
              p.get("disagree"), p.get("measure"), p.get("score")]
             for p in doc.get("disagreeing_pairs") or [] if p.get("disagree")]
    if pairs:
        parts += [html_heading("most disagreeing pairs"),
                  html_table(["control", "annotator", "annotator", "tasks", "disagree", "measure", "score"], pairs,
                             limit=10, more=".pairs")]
    parts.append(html_notes(doc.get("notes") or []))
    return html_block(f"agreement at {_version(v)}" if v else "agreement", *parts, sub=sub)


def eval_html(doc: dict) -> str:
    """An evaluation (``EvalResult.to_json()``): per control, per label P/R/F1, region thresholds."""
    controls = doc.get("controls") or {}
    rows, labels, regions, by_label = [], [], [], []
    for ctl, e in controls.items():
        if e.get("kind") == "classification":
            rows.append([ctl, e.get("tasks"), e.get("accuracy"), e.get("macro_f1")])
            labels += [[ctl, lab, x.get("precision"), x.get("recall"), x.get("f1"), x.get("support")]
                       for lab, x in (e.get("labels") or {}).items()]
        for t, x in (e.get("thresholds") or {}).items():
            regions.append([ctl, t, x.get("precision"), x.get("recall"), x.get("f1")])
            by_label += [[ctl, lab, t, y.get("precision"), y.get("recall"), y.get("f1"), y.get("support")]
                         for lab, y in (x.get("labels") or {}).items()]
    parts = []
    if rows:
        parts += [html_table(["control", "tasks", "accuracy", "macro F1"], rows),
                  html_heading("per label"),
                  html_table(["control", "label", "precision", "recall", "F1", "support"], labels,
                             more="to_json()['controls']")]
    if regions:
        parts += [html_heading("regions, by IoU / overlap threshold"),
                  html_table(["control", "threshold", "precision", "recall", "F1"], regions),
                  html_heading("regions per label"),
                  html_table(["control", "label", "threshold", "precision", "recall", "F1", "labeled regions"],
                             by_label, more="to_json()['controls']")]
    parts.append(html_notes(doc.get("notes") or []))
    at = _version(doc.get("version"))
    title = f"eval of {doc.get('model')}" + (f" at {at}" if at else "")
    return html_block(title, *parts, sub=f"labels resolved by {doc.get('policy')}")


def suspects_html(items: list[dict], total: int, counts: dict, notes: list[str], options: dict) -> str:
    """Suspects: the first ``items`` (``SuspectsResult.top(n)``) of ``total``, each with its reasons;
    where some are regions, their region keys and where they are, in two more columns."""
    regions = any("region" in it for it in items)
    rows = [[i + 1, it.get("task_key"), it.get("control"), *([it.get("region"), it.get("where")] if regions else []),
             it.get("label"), it.get("score"), "; ".join(str(r.get("text")) for r in it.get("reasons") or [])]
            for i, it in enumerate(items)]
    by = ", ".join(f"{k}: {n}" for k, n in (counts or {}).items())
    since = f", since {options['since']}" if options.get("since") else ""
    return html_block(f"suspects at {_version(options.get('version'))}",
                      html_table(["#", "task", "control", *(["region", "where"] if regions else []), "label", "score",
                                  "reasons"], rows, total=total, more=".items, .task_keys()"),
                      html_notes(notes), sub=f"{total} suspect(s){since}" + (f" ({by})" if by else ""))


def sample_html(doc: dict) -> str:
    """A sample (``SampleResult.to_json()``): the chosen tasks in order, with score and label."""
    rows = [[i + 1, x.get("task_key"), x.get("score"), x.get("label")] for i, x in enumerate(doc.get("items") or [])]
    how = f"{doc.get('strategy')}, n={doc.get('n')}, seed={doc.get('seed')}"
    if doc.get("model"):
        how += f", model {doc['model']}"
    if doc.get("stratify"):
        how += f", stratified by {doc['stratify']}"
    sub = f"{len(rows)} of {doc.get('candidates')} candidate(s); {how}" + \
        (f"; recorded as {doc['record']}" if doc.get("record") else "")
    return html_block(f"sample {doc.get('id') or ''}".strip(),
                      html_table(["#", "task", "score", "label"], rows, more=".keys"),
                      html_notes(doc.get("notes") or []), sub=sub)


def _figures(e: dict) -> str:
    """One control's figures of a version of a series, as the command line's line says them."""
    if "krippendorff_alpha" in e:
        return f"alpha {text(e['krippendorff_alpha'])}, kappa {text(e.get('fleiss_kappa'))}"
    if "f1" in e:
        return f"F1 {text(e['f1'])}"
    if "accuracy" in e:
        return f"accuracy {text(e['accuracy'])} on {e.get('tasks')}, macro F1 {text(e.get('macro_f1'))}"
    if "thresholds" in e:
        return ", ".join(f"P/R@{t} {text(x.get('precision'))}/{text(x.get('recall'))}"
                         for t, x in e["thresholds"].items())
    return ""


def _compare_html(e: dict) -> str:
    """Two models on the tasks both predicted (``eval --model A --model B``): how often they
    agree per control, then each one's evaluation."""
    a, b = (e.get("models") or ["A", "B"])[:2]
    same = [[ctl, x.get("tasks"), x.get("same"), x.get("rate")] for ctl, x in (e.get("agreement") or {}).items()]
    return html_block(f"{a} vs {b} at {_version(e.get('version'))}",
                      html_table(["control", "tasks", "same label", "rate"], same),
                      *(eval_html(e[k]) for k in ("a", "b") if isinstance(e.get(k), dict)),
                      sub=f"on the {e.get('tasks')} task(s) both predicted")


def series_html(doc: dict) -> str:
    """A series (``agreement A..B``, ``eval A..B``, two models compared): one row per version."""
    vs = doc.get("versions") or []
    controls = list(dict.fromkeys(c for v in vs for c in (v.get("controls") or {})))
    if doc.get("what") == "compare" and vs:
        return _compare_html(vs[0])
    rows = [[v.get("name"), v.get("message"), *((_figures((v.get("controls") or {}).get(c) or {}) or v.get("note"))
                                                for c in controls)] for v in vs]
    opts = ", ".join(f"{k} {x}" for k, x in doc.items() if k not in ("range", "what", "versions"))
    return html_block(f"{doc.get('what')}, {len(vs)} version(s)", html_table(["version", "message", *controls], rows,
                                                                             limit=ROWS * 2), sub=opts)
