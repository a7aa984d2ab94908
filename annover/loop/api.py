"""The loop's commands over a repository: revisions and ranges read, the pure functions called.

``repo`` is an :class:`annover.Repo`, typed loosely: the repository layer sits above this
one and hands itself in. A range ``A..B`` is B's history back to A, both included, oldest
first.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annover.diffing.result import DEFAULT_POLICY
from annover.errors import ObjectError, UsageError
from annover.files import write_atomic
from annover.loop.agreement import AgreementResult, agreement
from annover.loop.display import model_as_subject, series_html
from annover.loop.drift import COUNT_COLUMNS, drift_of_counts, label_counts
from annover.loop.evaluate import compare_models, evaluate, model_versions
from annover.loop.sample import NEEDS_MODEL, SampleResult, sample, why_none_qualify
from annover.loop.suspects import DEFAULT_THRESHOLD, SuspectsResult, suspects
from annover.model.config import cache_dir, config_structure, taxonomy_paths
from annover.store.versions import check_has_model, models_named, version_named

__all__ = ["Series", "versions_in", "name_of", "run_agreement", "run_eval", "run_suspects", "run_sample",
           "run_drift", "diff_drift", "drift_counts", "sample_record", "config_labels", "head_of", "SAMPLES_DIR",
           "SAMPLE_SCHEMA", "DEFAULT_POLICY", "DEFAULT_THRESHOLD"]

#: Where ``annover sample`` records its selections, in the repository (committed to git).
SAMPLES_DIR = "samples"
#: The ``schema`` of a sample record.
SAMPLE_SCHEMA = "annover.sample/1"
#: The format of the per-user cache of label counts (``$ANNOVER_CACHE_DIR/drift/``); a change
#: in how :func:`annover.loop.drift.label_counts` counts must change it.
COUNTS_FORMAT = 1


@dataclass
class Series:
    """One figure per version of a range, oldest first (``agreement A..B``, ``eval A..B``)."""

    what: str
    versions: list[dict] = field(default_factory=list)
    #: what every figure of the series was computed with (``eval``: ``model`` and ``policy``)
    options: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"range": True, "what": self.what, **self.options, "versions": self.versions}

    def _repr_html_(self) -> str:
        """In a notebook: one row per version, one column per control."""
        return series_html(self.to_json())


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
        swapped = bool(a and b) and repo.resolve(b) in {v.id for v in repo.log(a)}  # NEW..OLD given
        example = f"{b}..{a}" if swapped else f"v1..{b or 'HEAD'}"
        raise UsageError(f"{a} is not in the history of {b or 'HEAD'}", f"give a range OLD..NEW, such as {example}")
    return list(reversed(chain[:ids.index(start) + 1]))


def head_of(repo: Any, v: Any) -> dict[str, Any]:
    return {"id": v.id, "name": name_of(repo, v), "message": v.message, "created_at": v.created_at}


def config_labels(repo: Any, v: Any) -> dict[str, list[str]]:
    """control -> its labels in the config's order (for labels nobody used); a Taxonomy's are the
    paths of its choices (``Three/Sub``), as its answers give them."""
    text = repo.config_text(v.id)
    paths = taxonomy_paths(text)
    return {k: paths.get(k, d["labels"]) for k, d in config_structure(text).items()}


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
        first = _model(repo, v, model, spec)
        for m in (first, against):
            _check_model(repo, v, m, spec, "eval")
        out = compare_models(repo.load(v.id, "annotations"), repo.load(v.id, "predictions"), first, against, policy)
        out["version"] = head_of(repo, v)
        return Series("compare", [out])
    if ".." not in spec:
        v = vs[0]
        chosen = _model(repo, v, model, spec)
        _check_model(repo, v, chosen, spec, "eval")
        res = evaluate(repo.load(v.id, "annotations"), repo.load(v.id, "predictions"), chosen, policy,
                       config=config_labels(repo, v))
        res.version = head_of(repo, v)
        return res
    model = _range_model(repo, vs, spec) if model is None else model
    series = Series("eval", options={"model": model, "policy": policy})
    for v in vs:
        preds = repo.load(v.id, "predictions")
        if model not in model_versions(preds):
            series.versions.append({**head_of(repo, v), "note": f"no predictions of {model_as_subject(model)}"})
            continue
        res = evaluate(repo.load(v.id, "annotations"), preds, model, policy)
        series.versions.append({**head_of(repo, v), "controls": {
            ctl: ({"accuracy": e["accuracy"], "macro_f1": e["macro_f1"], "tasks": e["tasks"]}
                  if e["kind"] == "classification" else {"thresholds": {t: {k: x[k] for k in ("precision", "recall")}
                                                                        for t, x in e["thresholds"].items()}})
            for ctl, e in res.controls.items()}})
    return series


#: the hint of a model version named for a version that has no predictions at all
_NO_MODEL = "(none: snapshot with --predictions FILE)"


def _range_model(repo: Any, vs: list[Any], spec: str) -> str:
    """The one model version the versions of a range have predictions of (what ``eval REV``
    takes of one version); several, or none, is a usage error naming them."""
    have = sorted({m for v in vs for m in v.model_versions})
    if len(have) == 1:
        return have[0]
    raise UsageError(f"the versions of {spec} have predictions of {len(have)} model versions"
                     f"{' (' + models_named(have) + ')' if have else ''}",
                     "name one with --model MODEL_VERSION" if have else "snapshot with --predictions FILE first")


def _model(repo: Any, v: Any, model: str | None, spec: str) -> str:
    if model is not None:
        return model
    have = sorted(v.model_versions)
    if len(have) == 1:
        return have[0]
    if not have:
        _check_model(repo, v, None, spec, "eval")
    raise UsageError(f"version {name_of(repo, v)} has predictions of {len(have)} model versions"
                     f"{' (' + models_named(have) + ')' if have else ''}",
                     "name one with --model MODEL_VERSION" if have else "snapshot with --predictions FILE first")


def _check_model(repo: Any, v: Any, model: str | None, spec: str, command: str, only_later: bool = False) -> None:
    """Refuse a model version (None: any model) version ``v`` has no predictions of; where a later
    version of HEAD's history has them, name it: ``snapshot --predictions`` made a version of
    its own over the labels (v4 over v3's), and ``eval v3`` after it is the natural slip.
    ``only_later``: refuse only then (the caller says what else to do)."""
    if model in v.model_versions or (model is None and v.model_versions):
        return
    later = None
    for w in repo.log("HEAD"):
        if w.id == v.id:
            break
        if (model in w.model_versions) if model is not None else w.model_versions:
            later = w  # the oldest such version after v: the one made over v's labels
    if later is None and only_later:
        return
    if later is None and v.model_versions:  # it has others: name them
        check_has_model(v, str(model), spec, _NO_MODEL)
    of = f"model version {model!r}" if model is not None else "any model"
    what = f"version {version_named(spec, v.id)} has no predictions of {of}"
    if later is None:
        raise UsageError(what, "snapshot --predictions FILE -m MSG makes a version of HEAD with a model's predictions")
    name, m = name_of(repo, later), f" --model {shlex.quote(model)}" if model is not None else ""
    raise UsageError(f"{what}; {name} has them (snapshot --predictions made a version of its own)",
                     f"annover {command} {name}{m}")


def run_suspects(repo: Any, rev: str, threshold: float = DEFAULT_THRESHOLD, policy: str = DEFAULT_POLICY,
                 since: str | None = None, models: list[str] | None = None, limit: int | None = None
                 ) -> SuspectsResult:
    v = repo.show(rev)
    prev = None
    if since is None and v.parents:
        since = v.parents[0]
    if since is not None:
        pv = repo.show(since)
        _check_earlier(repo, v, pv, rev, since)
        try:
            touched = repo.touched_tasks(pv.id, v.id)
        except ObjectError:  # an object not here: the loads below say which version to pull
            touched = None
        # an answer's label can have changed only in a task whose rows did: those tasks' rows
        # (all of them when the parts cannot tell), from the parts that hold them
        prev = repo.load(pv.id, "annotations", tasks=touched)
        since = name_of(repo, pv)
    for m in models or []:
        _check_model(repo, v, m, rev, "suspects")
    res = suspects(repo.load(v.id, "annotations"), repo.load(v.id, "predictions"), prev, threshold=threshold,
                   policy=policy, models=models, since=since, limit=limit)
    res.options["version"] = head_of(repo, v)
    return res


def _check_earlier(repo: Any, v: Any, pv: Any, rev: str, since: str) -> None:
    """Refuse ``--since`` a version made after ``rev`` (the two swapped): its ``changed`` reasons
    would read the later labels as the earlier ones and the review backwards."""
    if pv.id != v.id and v.id in {x.id for x in repo.log(pv.id)}:
        raise UsageError(f"--since {since} is later than {rev}: the changed reason compares {rev}'s labels with an "
                         "earlier version's", f"swap them (annover suspects {since} --since {rev}), or give a version "
                         f"before {rev}")


def sample_record(v_id: str, res: SampleResult, control: str | None) -> dict[str, Any]:
    """The record of a selection: the version, how it was chosen, the keys; ``id`` is the first
    12 hex digits of the sha256 of the rest, so the same selection always has the same id."""
    doc: dict[str, Any] = {"schema": SAMPLE_SCHEMA, "version": v_id, "strategy": res.strategy, "n": res.n,
                           "seed": res.seed, "params": {"model": res.model, "stratify": res.stratify is not None,
                                                        "control": res.stratify or control},
                           "candidates": res.candidates, "keys": res.keys}
    body = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return {"id": hashlib.sha256(body.encode()).hexdigest()[:12], **doc}


def run_sample(repo: Any, rev: str, strategy: str, n: int, seed: int = 0, model: str | None = None,
               stratify: bool = False, control: str | None = None, out: str | None = None,
               record: bool = True) -> SampleResult:
    """Choose tasks, write their keys to ``out`` (one a line) and record the choice in the repository
    as ``.annover/samples/<id>.json`` (content-addressed: the same choice, the same file)."""
    if record:  # before any work: the record is committed
        repo.check_on_branch("the sample's record", instead=", or pass --no-record")
    v = repo.show(rev)
    if model is not None:
        _check_model(repo, v, model, rev, "sample")
    elif strategy in NEEDS_MODEL and not v.model_versions:  # a later version's, else sample's own words
        _check_model(repo, v, None, rev, "sample", only_later=True)
    tables = (repo.load(v.id, "tasks", columns=["task_key"]), repo.load(v.id, "annotations"),
              repo.load(v.id, "predictions"))
    res = sample(*tables, strategy, n, seed, model, stratify, control)
    why = why_none_qualify(*tables, res)
    if why is not None and why[1] is not None:  # nothing written: the setup, not the round, is wrong
        raise UsageError(f"no task qualifies at {name_of(repo, v)}: {why[0]}", why[1])
    if why is not None:
        res.notes.append(why[0])
    doc = sample_record(v.id, res, control)
    res.id, res.version = doc["id"], v.id
    if out is not None:
        write_atomic(out, "".join(k + "\n" for k in res.keys).encode())
    if record and not res.keys:  # an empty choice is nothing to send: no commit of it
        res.notes.append("nothing recorded: no task was picked")
    elif record:
        body = (json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()
        what = f"{name_of(repo, v)} {strategy} n={n} seed={seed}{' stratified' if stratify else ''}"
        res.record = _record(repo, doc["id"], body, f"annover: sample {doc['id']}: {what}, {len(res.keys)} task(s)")
    return res


def _record(repo: Any, name: str, body: bytes, message: str) -> str:
    """Commit ``.annover/samples/NAME.json`` (annover's own commit, like a dataset record) unless
    it is there already; its path."""
    path = repo.dir / SAMPLES_DIR / f"{name}.json"
    rel = repo.rel(path)
    with repo.lock():
        repo.recover()
        head = repo.head_commit()
        if not path.is_file():
            repo.commit({rel: body}, message, head, what="the sample's record")
    return rel


def _recorded_counts(stats: dict) -> dict[tuple[str, str, str], int] | None:
    """The (control, annotator, label) counts a version's stats keep (``labels_by_annotator``),
    or None where they do not (older versions, or too many cells to keep)."""
    kept = stats.get("labels_by_annotator")
    if not isinstance(kept, dict):
        return None
    out = {}
    for ctl, whos in kept.items():
        for who, labs in (whos.items() if isinstance(whos, dict) else ()):
            for lab, n in (labs.items() if isinstance(labs, dict) else ()):
                if type(n) is not int or n < 0:
                    return None
                out[(ctl, who, lab)] = n
    return out


#: The format of the per-user cache of the report's agreement per control and version
#: (``$ANNOVER_CACHE_DIR/agreement/``): raise it when what agreement computes changes (2: each
#: annotator's latest answer, not their latest one that gives the control or has regions).
AGREEMENT_FORMAT = 2


def headline(res: dict[str, Any]) -> dict[str, float | None]:
    """Per control, the agreement figure the report's history plots: Krippendorff's alpha of a
    classification control, region F1 of a region control (``res``: an agreement's JSON)."""
    return {c: (e.get("krippendorff_alpha") or e.get("f1") or {}).get("value") for c, e in res["controls"].items()}


def _agreement_path(repo: Any, v: Any, labels: dict[str, list[str]]) -> Path | None:
    """The per-user cache file of a version's :func:`headline` agreement, named by a hash of its
    annotations' snapshot id and its config's labels (content-addressed: never stale)."""
    sid = _annotations_sid(v.record)
    if sid is None:
        return None
    key = hashlib.sha256(json.dumps([AGREEMENT_FORMAT, sid, labels], sort_keys=True).encode()).hexdigest()
    try:
        return cache_dir() / "agreement" / f"{key}.json"
    except RuntimeError:  # no home folder to keep a cache in
        return None


def history_agreement(repo: Any, v: Any, annotations: Any = None) -> dict[str, float | None]:
    """:func:`headline` of version ``v``'s agreement (default thresholds), kept in the per-user
    cache so that each version is computed once on a machine, not at every report
    (``annotations``: its table, when the caller has read it)."""
    labels = config_labels(repo, v)
    path = _agreement_path(repo, v, labels)
    try:
        doc = json.loads(path.read_text(encoding="utf-8")) if path is not None else None
        if doc["format"] == AGREEMENT_FORMAT and all(isinstance(c, str) and (x is None or type(x) is float)
                                                    for c, x in doc["controls"].items()):
            return doc["controls"]
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        pass
    ann = annotations if annotations is not None else repo.load(v.id, "annotations")
    out = headline(agreement(ann, labels).to_json())
    if path is not None:
        try:
            write_atomic(path, json.dumps({"format": AGREEMENT_FORMAT, "controls": out}).encode())
        except OSError:  # a cache that cannot be written is skipped
            pass
    return out


def _annotations_sid(record: dict) -> str | None:
    """The snapshot id of a version record's annotations table (what a per-user cache entry of
    the version is named by); None when the record has none that looks like one."""
    sid = ((record.get("tables") or {}).get("annotations") or {}).get("id")
    return sid if isinstance(sid, str) and re.fullmatch(r"[0-9a-f]{8,128}", sid) else None


def _counts_path(repo: Any, vid: str) -> Path | None:
    """The per-user cache file of a version's label counts, named by its annotations table's
    snapshot id (content-addressed: an entry never goes stale); None without one."""
    sid = _annotations_sid(repo.version(vid).record)
    if sid is None:
        return None
    try:
        return cache_dir() / "drift" / f"{sid}.json"
    except RuntimeError:  # no home folder to keep a cache in
        return None


def _read_counts(path: Path | None) -> dict[tuple[str, str, str], int] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8")) if path is not None else None
        if doc["format"] != COUNTS_FORMAT:
            return None
        out = {(c, a, lab): n for c, a, lab, n in doc["counts"]}
    except (OSError, ValueError, TypeError, KeyError):
        return None
    ok = all(isinstance(x, str) for k in out for x in k) and all(type(n) is int and n > 0 for n in out.values())
    return out if ok else None


def drift_counts(repo: Any, vid: str, annotations: Any = None) -> dict[tuple[str, str, str], int]:
    """(control, annotator, label) -> regions of version ``vid``, from the columns drift reads;
    kept in the per-user cache, so each version is counted once on a machine (``annotations``:
    its table, when the caller has read it, counted where neither the version's stats nor the
    cache have the counts)."""
    kept = _recorded_counts(repo.version(vid).record.get("stats") or {})
    if kept is not None:  # the snapshot counted them (versions made since stats kept them)
        return kept
    path = _counts_path(repo, vid)
    cached = _read_counts(path)
    if cached is not None:
        return cached
    counts = label_counts(annotations if annotations is not None else
                          repo.load(vid, "annotations", columns=COUNT_COLUMNS))
    if path is not None:
        body = {"format": COUNTS_FORMAT, "counts": sorted([*k, n] for k, n in counts.items())}
        try:
            write_atomic(path, json.dumps(body, ensure_ascii=False).encode())
        except OSError:  # a cache that cannot be written is skipped
            pass
    return counts


def diff_drift(repo: Any, a: str, b: str, same: bool = False) -> dict[str, Any] | None:
    """Drift between two versions for ``annover diff``: label and per-annotator rate shift from
    one grouped count per version; None when nothing can have moved (``same``: the diff found
    the versions identical, so it read nothing, and neither does this)."""
    ida, idb = repo.resolve(a), repo.resolve(b)
    if same or idb == ida:
        return None
    with ThreadPoolExecutor(1) as pool:  # Parquet reads and Arrow kernels let go of the GIL
        later = pool.submit(drift_counts, repo, idb)
        ca = drift_counts(repo, ida)
        return drift_of_counts(ca, later.result())


def run_drift(repo: Any, a: str, b: str) -> dict[str, Any]:
    va, vb = repo.show(a), repo.show(b)
    out = drift_of_counts(drift_counts(repo, va.id), drift_counts(repo, vb.id))
    out["a"], out["b"] = head_of(repo, va), head_of(repo, vb)
    return out
