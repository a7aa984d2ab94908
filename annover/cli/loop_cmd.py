"""The labeling loop's commands: ``agreement``, ``eval``, ``suspects``, ``sample``, ``report``.

Each is one :class:`annover.repo.Repo` call, then rendering only (docs/loop.md).
"""

from __future__ import annotations

from typing import Any

import click

from annover.cli import (Progress, arrow_without_pandas, echo, emit_json, info, json_option, not_empty, open_repo,
                         quiet_option, table)
from annover.cli.suspects_json import suspects_json
from annover.diffing import POLICIES
from annover.files import write_atomic
from annover.loop.display import model_as_subject
from annover.loop.report import CONFUSION_LABELS, region_label_rows
from annover.loop.sample import STRATEGIES
from annover.model.names import label_name, label_set_name, labels_named
from annover.model.stats import annotator_shown
from annover.repo.outputs import check_output

__all__ = ["agreement", "eval_", "suspects", "sample", "report"]


def _v(x: Any, digits: int = 3) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def _stat(d: dict | None) -> str:
    if not d:
        return "-"
    return f"{_v(d.get('value'))} (n={d.get('n', 0)})"


def _undefined(e: dict) -> list[str]:
    """Why the control's figures shown as ``-`` are not defined (their notes, which ``--json``
    carries), one line per reason naming the figures: ``(control), yes: undefined: every answer
    has the same label``. None where the control's own note says it already (its own figure
    undefined: nothing to compare); a note that does not (``multi-label: pooled ...``) leaves them."""
    if e.get("note") and (e.get("krippendorff_alpha") or e.get("f1") or {}).get("value") is None:
        return []
    why: dict[str, list[str]] = {}
    for name, x in [("(control)", e), *e.get("labels", {}).items()]:
        st = x.get("krippendorff_alpha") or x.get("f1") or {}
        if st.get("value") is None and st.get("note"):
            why.setdefault(st["note"], []).append(name)
    return [f"{_some(names)}: {note}" for note, names in why.items()]


#: past this many labels nobody used, the agreement text leaves them out of its table and names a few
UNUSED_SHOWN = 15
NOBODY = "nobody used this label"


def _some(names: list[str]) -> str:
    """Names comma-separated (each :func:`label_name`), past :data:`UNUSED_SHOWN` the first of them and how many
    more (a config of thousands of classes made a note of every unused one, a line of tens of kilobytes)."""
    if len(names) <= UNUSED_SHOWN:
        return labels_named(names)
    return f"{labels_named(names[:10])} and {len(names) - 10:,} more (--json lists them)"


def _label_rows(e: dict) -> list[list[str]]:
    """A classification control's rows per label; past :data:`UNUSED_SHOWN` labels nobody used, only
    the used ones (the config's thousands of classes gave a row of dashes each)."""
    unused = [lab for lab, x in e["labels"].items() if x["krippendorff_alpha"].get("note") == NOBODY]
    drop = set(unused) if len(unused) > UNUSED_SHOWN else set()
    return [[label_name(lab), _stat(x["krippendorff_alpha"]), _stat(x["fleiss_kappa"])]
            for lab, x in e["labels"].items() if lab not in drop]


def _notes(notes: list[str]) -> None:
    for n in notes:
        info(f"note: {n}")


def _one_version(rev: str, command: str, hint: str) -> None:
    """Refuse a range A..B where a command reads one version (git names have no '..', so this is
    no revision: "unknown revision" would be the wrong reason, and exit 7 the wrong code)."""
    if ".." in rev:
        raise click.UsageError(f"{command} reads one version, not the range {rev}: give one REV ({hint})")


def _series(doc: dict) -> None:
    for v in doc["versions"]:
        parts = []
        for ctl, e in (v.get("controls") or {}).items():
            if "krippendorff_alpha" in e:
                parts.append(f"{ctl}: alpha {_stat(e['krippendorff_alpha'])}, kappa {_stat(e['fleiss_kappa'])}")
            elif "f1" in e:
                parts.append(f"{ctl}: F1 {_stat(e['f1'])}")
            elif "accuracy" in e:
                parts.append(f"{ctl}: accuracy {_v(e['accuracy'])} on {e['tasks']}, macro F1 {_v(e['macro_f1'])}")
            elif "thresholds" in e:
                parts.append(f"{ctl}: " + ", ".join(f"P/R@{t} {_v(x['precision'])}/{_v(x['recall'])}"
                                                   for t, x in e["thresholds"].items()))
        if not parts and "annotators" in v and not v.get("controls"):  # agreement of a version of no labels
            parts = [f"no control with labels ({v['annotators']} annotator(s) answered)"]
        echo(f"{v['name']:<14} " + ("; ".join(parts) or v.get("note", "")))


@click.command("agreement")
@click.argument("rev", default="HEAD")
@click.option("--iou", "iou", type=click.FloatRange(0, 1), default=None,
              help="IoU for two boxes (similarity for two keypoints: 0.5 at 2% of the image's diagonal apart) "
                   "to be one region (the diff's: 0.5).")
@click.option("--overlap", type=click.FloatRange(0, 1), default=None,
              help="Overlap for two spans to be one region (the diff's: 0.5).")
@json_option
@quiet_option
def agreement(rev: str, iou: float | None, overlap: float | None, as_json: bool, quiet: bool) -> None:
    """How much annotators agree in version REV, per control and per label.

    \b
    Choices: Krippendorff's alpha and Fleiss' kappa over the tasks two or more annotators
    answered, Cohen's kappa per pair; spans and boxes: F1 of regions matched as the diff
    matches them. Each figure says how many tasks it rests on; REV A..B gives one line
    per version of the range.

    \b
    Examples:
      annover agreement                 # HEAD
      annover agreement v3 --json
      annover agreement v1..v5          # how agreement moved
      annover agreement v3 --iou 0.7
    """
    arrow_without_pandas()
    repo = open_repo()
    with Progress(quiet) as progress:  # a spinner on a terminal's stderr while it works
        progress(f"measuring agreement at {rev}")
        res = repo.agreement(rev, iou_threshold=iou, overlap_threshold=overlap)
    doc = res.to_json()
    if as_json:
        emit_json(doc)
        _notes(doc.get("notes", []))  # on stderr too, as in the text
        return
    if doc.get("range"):
        _series(doc)
        return
    _agreement_text(doc)


def _agreement_text(doc: dict) -> None:
    """``annover agreement REV``'s text of its ``--json`` document: per control, the worst pairs, the notes."""
    v = doc["options"]["version"]
    skips = f" ({doc['skipped']} of them skipped)" if doc["skipped"] else ""
    echo(f"agreement at {v['name']}: {doc['tasks']} task(s) with answers, {doc['answers']} answer(s){skips}, "
         f"{len(doc['annotators'])} annotator(s)")
    alone = [ctl for ctl, e in doc["controls"].items() if not e["tasks_with_two_or_more"]]
    for ctl, e in doc["controls"].items():
        if ctl in alone:  # a table of dashes per label said nothing: one line for them all, below
            continue
        echo("")
        if e["kind"] == "classification":
            _classification_agreement(ctl, e)
        else:
            echo(f"{ctl} (regions; {e['tasks_with_two_or_more']} task(s) with two annotators or more)")
            echo(f"  F1 {_stat(e['f1'])}; ignoring labels {_stat(e['f1_any_label'])}")
            for lab, x in e["labels"].items():
                echo(f"  {label_name(lab)}: F1 {_stat(x['f1'])}")
        for note in ([e["note"]] if e.get("note") else []) + _undefined(e):
            echo(f"  note: {note}")
    if alone:
        echo("")
        echo(f"no task has two annotators' answers, nothing to compare: {_some(alone)}")
    worst = [p for p in doc["disagreeing_pairs"] if p["disagree"]][:5]
    if worst:
        echo("")
        echo("most disagreeing pairs:")
        for p in worst:
            echo(f"  {p['control']}: {annotator_shown(p['a'])} / {annotator_shown(p['b'])}: {p['disagree']} "
                 f"disagreement(s) on {p['tasks']} task(s), {p['measure']} {_v(p['score'])}")
    _notes(doc["notes"])


def _classification_agreement(ctl: str, e: dict) -> None:
    """A classification control's agreement: its figures and its labels' as a table, Cohen's kappa per pair."""
    echo(f"{ctl} ({'multi-label' if e['multi_label'] else 'one label'}; "
         f"{e['tasks_with_two_or_more']} task(s) with two answers or more)")
    rows = [["", "Krippendorff's alpha", "Fleiss' kappa"],
            ["(control)", _stat(e["krippendorff_alpha"]), _stat(e["fleiss_kappa"])]]
    rows += _label_rows(e)
    for line in table(rows):
        echo(line)
    for p in e["pairs"]:
        echo(f"  Cohen's kappa {annotator_shown(p['a'])} / {annotator_shown(p['b'])}: {_stat(p['cohen_kappa'])}, "
             f"{p['agree']} of {p['tasks']} agree")


def _compared(c: dict) -> None:
    """``eval --model A --model B``: each model's figures on the tasks both predicted, and how often they agree."""
    echo(f"{model_as_subject(c['models'][0])} vs {model_as_subject(c['models'][1])} on {c['tasks']} task(s) both "
         f"predicted, against the labels of {c['version']['name']} ({_resolved_by(c['a']['policy'], [c['a']])})")
    for side in ("a", "b"):
        for ctl, e in c[side]["controls"].items():
            if e["kind"] == "classification":
                echo(f"  {model_as_subject(c[side]['model'])} {ctl}: accuracy {_v(e['accuracy'])}, "
                     f"macro F1 {_v(e['macro_f1'])}")
            else:  # a region control: its matched regions, as eval of one model gives them
                at = "; ".join(f"at {t}: precision {_v(x['precision'])}, recall {_v(x['recall'])}, F1 {_v(x['f1'])}"
                               for t, x in e["thresholds"].items())
                echo(f"  {model_as_subject(c[side]['model'])} {ctl}: matched regions on {e['tasks']} task(s), {at}")
    for ctl, a in c["agreement"].items():
        echo(f"  same label on {ctl}: {a['same']} of {a['tasks']} ({_v(a['rate'])})")


@click.command("eval")
@click.argument("rev", default="HEAD")
@click.option("--model", "models", multiple=True, metavar="MODEL_VERSION",
              help="The model version (default: the only one); twice to compare two on the tasks both predicted; "
                   '--model "" for predictions without a model_version.')
@click.option("--resolve", "policy", type=click.Choice(POLICIES), default=None,
              help="How a task's label is chosen among its answers (the diff's policies; default ground-truth).")
@json_option
@quiet_option
def eval_(rev: str, models: tuple[str, ...], policy: str | None, as_json: bool, quiet: bool) -> None:
    """A model's stored predictions against the labels of version REV.

    \b
    Choices: accuracy, a confusion matrix, precision/recall/F1 per label; spans and boxes:
    matched-region precision and recall at IoU (overlap) 0.5 and 0.75. REV A..B: the model
    on each version of the range (--model: the range's only model unless named).

    \b
    Examples:
      annover eval v3 --model bert-v2
      annover eval v1..v5 --model bert-v2 --json
      annover eval v1..v5                # the only model the range's versions have
      annover eval v3 --model bert-v1 --model bert-v2    # two models on the same tasks
    """
    arrow_without_pandas()
    if len(models) > 2 or len(set(models)) < len(models):
        raise click.UsageError("give --model once, or twice to compare two different model versions"
                               + (f" (--model {models[0]!r} is given twice)" if len(set(models)) == 1 < len(models) else ""))
    repo = open_repo()
    with Progress(quiet) as progress:
        progress(f"scoring predictions against {rev}")
        res = repo.eval(rev, model=models[0] if models else None, policy=policy,
                        against=models[1] if len(models) == 2 else None)
    doc = res.to_json()
    if as_json:
        emit_json(doc)
        _notes(doc.get("notes", []))  # on stderr too, as in the text
        return
    if doc.get("range") and doc["what"] == "compare":
        _compared(doc["versions"][0])
        return
    if doc.get("range"):
        echo(f"{model_as_subject(doc['model'])} against the labels of {rev} "
             f"({_resolved_by(doc['policy'], doc['versions'])})")
        _series(doc)
        return
    _eval_text(doc)


#: how ``annover eval`` picks the labeled regions of a task, whatever ``--resolve`` says (docs/loop.md)
REGIONS_RESOLVED = "regions of a ground-truth answer, else of the latest"


def _resolved_by(policy: str, docs: list[dict]) -> str:
    """What eval's header says the labels were resolved by: ``policy`` for classification controls,
    :data:`REGIONS_RESOLVED` for region ones (a config of regions only is not resolved by ``majority``)."""
    kinds = {"thresholds" not in e for d in docs for e in (d.get("controls") or {}).values()}  # True: classes
    return "; ".join(([policy] if True in kinds or not kinds else []) + ([REGIONS_RESOLVED] if False in kinds else []))


def _eval_text(doc: dict) -> None:
    """``annover eval REV --model M``'s text of its ``--json`` document: per control, then the notes."""
    echo(f"{model_as_subject(doc['model'])} against the labels of {doc['version']['name']} "
         f"({_resolved_by(doc['policy'], [doc])})")
    for ctl, e in doc["controls"].items():
        echo("")
        if e["kind"] == "classification":
            _classification_eval(ctl, e)
        else:
            echo(f"{ctl}: matched regions on {e['tasks']} task(s)")
            if e.get("predicted_not_labeled"):
                echo(f"  not scored: {e['predicted_not_labeled']} task(s) predicted, not labeled")
            for t, x in e["thresholds"].items():
                echo(f"  at {t}: precision {_v(x['precision'])}, recall {_v(x['recall'])}, F1 {_v(x['f1'])}")
            head, rows = region_label_rows(e)  # per entity type / class, as --json has them
            for line in table([head] + [[label_name(r[0])] + [_v(x) for x in r[1:]] for r in rows]):
                echo(line)
    _notes(doc["notes"])


def _classification_eval(ctl: str, e: dict) -> None:
    """A classification control's eval: accuracy, what was not scored, per-label figures, the confusions."""
    echo(f"{ctl}: accuracy {_v(e['accuracy'])} ({e['correct']} of {e['tasks']}), macro F1 {_v(e['macro_f1'])}")
    left = [f"{e[k]} task(s) {what}" for k, what in (("labeled_not_predicted", "labeled, not predicted"),
                                                      ("predicted_not_labeled", "predicted, not labeled"))
            if e.get(k)]
    if left:
        echo(f"  not scored: {'; '.join(left)}")
    if not e["tasks"]:  # no table and no matrix to show: say why, as --json does
        echo(f"  note: {e.get('note') or 'no task has both a label and a prediction of this control'}")
        return
    rows = [["label", "precision", "recall", "F1", "support"]]
    rows += [[label_name(k), _v(x["precision"]), _v(x["recall"]), _v(x["f1"]), str(x["support"])]
             for k, x in e["labels"].items()]
    for line in table(rows):
        echo(line)
    singles = set(e["labels"])
    named = [label_set_name(x, singles) for x in e["confusion"]["labels"]]
    for line in _confusion_lines(named, e["confusion"]["matrix"]):
        echo(line)


#: the most frequent confusions listed where the matrix has too many labels to print
TOP_CONFUSIONS = 10


def _confusion_lines(labels: list[str], matrix: list[list[int]]) -> list[str]:
    """The confusion matrix as a table; past the report's :data:`CONFUSION_LABELS` labels (a product
    taxonomy's hundreds printed lines thousands of columns wide), the most frequent confusions."""
    if len(labels) <= CONFUSION_LABELS:
        return ["  confusion (rows: label, columns: predicted):"] + [
            "  " + line for line in table([[""] + labels] + [[lab] + [str(x) for x in row]
                                                             for lab, row in zip(labels, matrix)])]
    off = sorted(((n, a, b) for a, row in zip(labels, matrix) for b, n in zip(labels, row) if n and a != b),
                 key=lambda x: (-x[0], x[1], x[2]))
    head = (f"  confusion: {len(labels)} labels, too many to print as a matrix (--json has it; the report draws "
            f"the {CONFUSION_LABELS} most used)")
    if not off:
        return [head, "  no confusion: every scored task's prediction is its label"]
    rows = [["label", "predicted", "tasks"]] + [[a, b, str(n)] for n, a, b in off[:TOP_CONFUSIONS]]
    return [head, f"  the {min(len(off), TOP_CONFUSIONS)} most frequent confusion(s) of {len(off)}:"] + \
        table(rows, right={2}, indent="    ")


@click.command("suspects")
@click.argument("rev", default="HEAD")
@click.option("--threshold", type=float, default=None,
              help="A prediction this confident (score) that contradicts the label makes it suspect (default 0.9; "
                   "between 0 and 1 unless the version's models score outside 0..1).")
@click.option("--since", default=None, metavar="REV", help="Compare answers with this version (default: REV's parent).")
@click.option("--model", "models", multiple=True, metavar="MODEL_VERSION", help="Trust only these model versions.")
@click.option("--resolve", "policy", type=click.Choice(POLICIES), default=None,
              help="How a task's label is chosen among its answers (default ground-truth).")
@click.option("-n", "limit", type=click.IntRange(min=0), default=20, show_default=True,
              help="Show the top N (all with --json/--out).")
@click.option("-o", "--out", type=click.Path(dir_okay=False), default=None, callback=not_empty,
              help="Write the suspect task keys, one a line.")
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
@json_option
@quiet_option
def suspects(rev: str, threshold: float | None, since: str | None, models: tuple[str, ...], policy: str | None,
             limit: int, out: str | None, force: bool, as_json: bool, quiet: bool) -> None:
    """Labels worth a second look in version REV, ranked, each with its reasons.

    \b
    A label is suspect when the other annotators' majority says otherwise, when a
    model confidently says otherwise, when the answer changed since the earlier
    version (a review), or when no label leads (two annotators who disagree: the
    latest answer's label was taken). --out writes the task keys (for `annover sample`-like use).

    \b
    Spans and boxes: a confident predicted region no labeled region pairs with
    (missed), a labeled region a confident prediction of other labels pairs with
    (swapped), a region most other annotators have no region for or label otherwise
    (majority), a region relabeled since the earlier version (changed), a region two
    annotators disagree on, drawn by one or labeled otherwise (split); each says
    where it is (box x/y/w/h in percent, span start-end and text).

    \b
    Examples:
      annover suspects
      annover suspects v3 --threshold 0.95 --out recheck.txt
      annover suspects v3 --since v1 --json
      annover suspects v3 --model yolo-v8 --threshold 0.8   # boxes a detector finds missed
    """
    arrow_without_pandas()
    _one_version(rev, "suspects", "--since OLD compares its answers with OLD's")
    repo = open_repo()
    if out:
        check_output(repo, out, "--out", force)
    with Progress(quiet) as progress:
        progress(f"finding suspect labels at {rev}")
        res = repo.suspects(rev, threshold=threshold, policy=policy, since=since, models=list(models) or None,
                            limit=None if as_json or out else limit)
    if out:
        keys = res.task_keys()
        write_atomic(out, "".join(k + "\n" for k in keys).encode())
        info(f"wrote {len(keys)} task key(s) to {out}")
    if as_json:
        click.echo(suspects_json(res))
        _notes(res.notes)  # on stderr too, as in the text
        return
    total = res.total
    echo(f"{total} suspect label(s)" + (f", top {limit}:" if total > limit > 0 else ":" if total and limit else ""))
    for i, label in zip(res.top(limit), res.named_labels(limit)):  # only the items shown are worded
        at = f" ({i['region']}: {i['where']})" if "region" in i else ""
        echo(f"  {i['score']:.2f}  {i['task_key']}  {i['control']}={label}{at}  "
             + "; ".join(r["text"] for r in i["reasons"]))
    _notes(res.notes)


@click.command("sample")
@click.argument("rev", default="HEAD")
@click.option("--strategy", type=click.Choice(STRATEGIES), default="uncertainty", show_default=True,
              help="How the tasks are picked (see above).")
@click.option("-n", "--n", "n", type=int, required=True, help="How many tasks to pick.")
@click.option("--seed", type=int, default=0, show_default=True, help="Orders ties (and random picks) reproducibly.")
@click.option("--model", default=None, metavar="MODEL_VERSION", help="The model's predictions to use (default: the only one).")
@click.option("--stratify", is_flag=True, help="Spread the picks evenly over the labels of --control.")
@click.option("--control", default=None, help="The control whose labels --stratify and the scores use (default: the most used).")
@click.option("-o", "--out", type=click.Path(dir_okay=False), default=None,
              help="Write the task keys here, one a line.")
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
@click.option("--no-record", is_flag=True, help="Do not commit the selection under .annover/samples/.")
@json_option
@quiet_option
def sample(rev: str, strategy: str, n: int, seed: int, model: str | None, stratify: bool, control: str | None,
           out: str | None, force: bool, no_record: bool, as_json: bool, quiet: bool) -> None:
    """Pick N tasks of version REV to label next, reproducibly.

    \b
    uncertainty / margin: unlabeled tasks the model is least sure of; disagreement: tasks
    whose annotators (or model and label) disagree, spans and boxes by 1 - their F1;
    rare-labels: unlabeled tasks predicted as the rarest labels (or region labels);
    unlabeled; random. The keys go to --out and the choice is
    committed as .annover/samples/ID.json (version, strategy, n, seed, params, keys): the
    id is a hash of that content, so the same choice is the same id. Send it to Label
    Studio with `annover dataset push DATASET --from-sample ID`.

    \b
    Examples:
      annover sample --strategy uncertainty --n 200 --out next.txt
      annover sample v3 --strategy rare-labels --n 50 --stratify --seed 7
      annover sample --strategy random --n 100 --seed 1 --no-record --json
      annover dataset push round-4 --from-sample ID       # the chosen tasks, with predictions
    """
    arrow_without_pandas()
    _one_version(rev, "sample", "such as the range's last version")
    repo = open_repo()
    with Progress(quiet) as progress:
        progress(f"picking {n} task(s) of {rev}")
        res = repo.sample(rev, strategy=strategy, n=n, seed=seed, model=model, stratify=stratify,
                          control=control, out=out, record=not no_record, force=force)
    if as_json:
        emit_json(res.to_json())
    else:
        for k in res.keys:
            echo(k)
    if out:
        info(f"wrote {len(res.keys)} task key(s) to {out}")
    info(f"sample {res.id}: recorded as {res.record}" if res.record else f"sample {res.id} (not recorded)")
    _notes(res.notes)


@click.command("report")
@click.argument("rev", default="HEAD")
@click.option("-o", "--out", type=click.Path(dir_okay=False), default="report.html", show_default=True,
              help="The HTML file to write.")
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
@json_option
@quiet_option
def report(rev: str, out: str, force: bool, as_json: bool, quiet: bool) -> None:
    """One self-contained HTML page about version REV (or the range A..B).

    \b
    Stats, label distribution, answers per annotator and agreement, each model's
    confusion matrix, label transitions and drift since the previous version (or A),
    agreement and class balance over the history, the top suspects. Inline SVG, no
    script, nothing fetched: it opens offline and mails as one file.

    \b
    Examples:
      annover report --out report.html
      annover report v1..v5 --out rounds.html --force
    """
    arrow_without_pandas()
    repo = open_repo()
    with Progress(quiet) as progress:
        res = repo.report(rev, out, force=force, progress=progress)
    if as_json:
        emit_json(res.to_json())
    else:
        info(f"wrote {res.path} ({res.size // 1024} KB: {', '.join(res.sections).lower()})")
