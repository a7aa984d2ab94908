"""The loop's commands over a repository: revisions and ranges read, the pure functions called.

``repo`` is an :class:`annover.Repo`, typed loosely: the repository layer sits above this
one and hands itself in. A range ``A..B`` is B's history back to A, both included, oldest
first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annover.diffing.result import DEFAULT_POLICY
from annover.errors import UsageError
from annover.loop.agreement import AgreementResult, agreement
from annover.loop.drift import drift
from annover.loop.evaluate import compare_models, evaluate, model_versions
from annover.loop.sample import SampleResult, sample
from annover.loop.suspects import DEFAULT_THRESHOLD, SuspectsResult, suspects
from annover.model.config import config_structure

__all__ = ["Series", "versions_in", "name_of", "run_agreement", "run_eval", "run_suspects", "run_sample",
           "run_drift", "config_labels", "head_of", "SAMPLES_DIR", "DEFAULT_POLICY", "DEFAULT_THRESHOLD"]

#: Where ``annover sample`` records its selections, in the repository (committed to git).
SAMPLES_DIR = "samples"


@dataclass
class Series:
    """One figure per version of a range, oldest first (``agreement A..B``, ``eval A..B``)."""

    what: str
    versions: list[dict] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"range": True, "what": self.what, "versions": self.versions}


def name_of(repo: Any, v: Any) -> str:
    tags = sorted(repo.tags_of().get(v.id, []), key=lambda t: (len(t), t))
    return tags[0] if tags else v.id[:12]


def versions_in(repo: Any, spec: str) -> list[Any]:
    """The versions of ``A..B`` (oldest first), or of one revision."""
    if ".." not in spec:
        return [repo.show(spec)]
    a, b = spec.split("..", 1)
    start = repo.resolve(a or "HEAD")
    chain = repo.log(b or "HEAD")
    ids = [v.id for v in chain]
    if start not in ids:
        raise UsageError(f"{a} is not in the history of {b or 'HEAD'}", f"give a range OLD..NEW, such as v1..{b or 'HEAD'}")
    return list(reversed(chain[:ids.index(start) + 1]))


def head_of(repo: Any, v: Any) -> dict[str, Any]:
    return {"id": v.id, "name": name_of(repo, v), "message": v.message, "created_at": v.created_at}


def config_labels(repo: Any, v: Any) -> dict[str, list[str]]:
    """control -> its labels in the config's order (for labels nobody used)."""
    text = repo.config_text(v.id)
    return {k: d["labels"] for k, d in config_structure(text).items()}


def _agreement_of(repo: Any, v: Any, iou: float | None, overlap: float | None) -> AgreementResult:
    return agreement(repo.load(v.id, "annotations"), config_labels(repo, v), iou, overlap)


def _brief(res: AgreementResult) -> dict[str, Any]:
    out = {}
    for ctl, e in res.controls.items():
        if e["kind"] == "classification":
            out[ctl] = {"kind": e["kind"], "krippendorff_alpha": e["krippendorff_alpha"],
                        "fleiss_kappa": e["fleiss_kappa"], "cohen_kappa_mean": e["cohen_kappa_mean"]}
        else:
            out[ctl] = {"kind": e["kind"], "f1": e["f1"]}
    return out


def run_agreement(repo: Any, spec: str, iou: float | None = None, overlap: float | None = None) -> Any:
    vs = versions_in(repo, spec)
    if ".." not in spec:
        res = _agreement_of(repo, vs[0], iou, overlap)
        res.options["version"] = head_of(repo, vs[0])
        return res
    series = Series("agreement")
    for v in vs:
        res = _agreement_of(repo, v, iou, overlap)
        series.versions.append({**head_of(repo, v), "annotators": len(res.annotators), "controls": _brief(res)})
    return series


def run_eval(repo: Any, spec: str, model: str | None, policy: str = DEFAULT_POLICY,
             against: str | None = None) -> Any:
    vs = versions_in(repo, spec)
    if against is not None:
        if ".." in spec:
            raise UsageError("two models are compared in one version", "give one REV with a second --model")
        v = vs[0]
        out = compare_models(repo.load(v.id, "annotations"), repo.load(v.id, "predictions"), _model(repo, v, model),
                             against, policy)
        out["version"] = head_of(repo, v)
        return Series("compare", [out])
    if ".." not in spec:
        v = vs[0]
        return evaluate(repo.load(v.id, "annotations"), repo.load(v.id, "predictions"), _model(repo, v, model), policy)
    if model is None:
        raise UsageError("eval over a range needs the model", "name it with --model MODEL_VERSION")
    series = Series("eval")
    for v in vs:
        preds = repo.load(v.id, "predictions")
        if model not in model_versions(preds):
            series.versions.append({**head_of(repo, v), "note": f"no predictions of {model}"})
            continue
        res = evaluate(repo.load(v.id, "annotations"), preds, model, policy)
        series.versions.append({**head_of(repo, v), "controls": {
            ctl: ({"accuracy": e["accuracy"], "macro_f1": e["macro_f1"], "tasks": e["tasks"]}
                  if e["kind"] == "classification" else {"thresholds": {t: {k: x[k] for k in ("precision", "recall")}
                                                                        for t, x in e["thresholds"].items()}})
            for ctl, e in res.controls.items()}})
    return series


def _model(repo: Any, v: Any, model: str | None) -> str:
    if model is not None:
        return model
    have = sorted(v.model_versions)
    if len(have) == 1:
        return have[0]
    raise UsageError(f"version {name_of(repo, v)} has predictions of {len(have)} model versions"
                     f"{' (' + ', '.join(have) + ')' if have else ''}",
                     "name one with --model MODEL_VERSION" if have else "snapshot with --predictions FILE first")


def run_suspects(repo: Any, rev: str, threshold: float = DEFAULT_THRESHOLD, policy: str = DEFAULT_POLICY,
                 since: str | None = None, models: list[str] | None = None) -> SuspectsResult:
    v = repo.show(rev)
    prev = None
    if since is None and v.parents:
        since = v.parents[0]
    if since is not None:
        pv = repo.show(since)
        prev = repo.load(pv.id, "annotations")
        since = name_of(repo, pv)
    res = suspects(repo.load(v.id, "annotations"), repo.load(v.id, "predictions"), prev, threshold=threshold,
                   policy=policy, models=models, since=since)
    res.options["version"] = head_of(repo, v)
    return res


def run_sample(repo: Any, rev: str, strategy: str, n: int, seed: int = 0, model: str | None = None,
               stratify: bool = False, control: str | None = None, out: str | None = None,
               record: bool = True) -> SampleResult:
    """Choose tasks, write their keys to ``out`` (one a line) and record the choice in the repository."""
    v = repo.show(rev)
    res = sample(repo.load(v.id, "tasks"), repo.load(v.id, "annotations"), repo.load(v.id, "predictions"),
                 strategy, n, seed, model, stratify, control)
    if out is not None:
        Path(out).write_text("".join(k + "\n" for k in res.keys))
    if record:
        doc = {"schema": "annover.sample/1", "version": v.id, "rev": rev, **res.to_json()}
        doc.pop("items")
        body = (json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()
        name = f"{name_of(repo, v)}-{strategy}-n{n}-seed{seed}{'-stratified' if stratify else ''}"
        res.notes.append(f"recorded as {_record(repo, name, body, f'sample {name}: {len(res.keys)} task(s)')}")
    return res


def _record(repo: Any, name: str, body: bytes, message: str) -> str:
    """Commit ``.annover/samples/NAME.json`` (annover's own commit, like a dataset record); its path."""
    path = repo.dir / SAMPLES_DIR / f"{name}.json"
    rel = repo.rel(path)
    with repo.lock():
        repo.recover()
        head = repo.head_commit()
        if not (path.is_file() and path.read_bytes() == body):
            repo.commit({rel: body}, message, head)
    return rel


def run_drift(repo: Any, a: str, b: str) -> dict[str, Any]:
    va, vb = repo.show(a), repo.show(b)
    out = drift(repo.load(va.id, "annotations"), repo.load(vb.id, "annotations"))
    out["a"], out["b"] = head_of(repo, va), head_of(repo, vb)
    return out
