"""``annover diff``: one call of :meth:`annover.repo.Repo.diff`, then rendering only."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from annover._lazy import lazy
from annover.cli import (Progress, arrow_without_pandas, echo, emit_json, info, json_option, not_empty, open_repo,
                         table)
from annover.diffing import DEFAULT_IOU, DEFAULT_OVERLAP, DEFAULT_POLICY, POLICIES
from annover.errors import UsageError
from annover.model.names import label_name, label_set_name, labels_named
from annover.repo.commands import diff_range
from annover.repo.outputs import check_output

if TYPE_CHECKING:  # pragma: no cover
    from annover.loop import api as loop_api
    from annover.model import config as model_config
    from annover.model import stats as model_stats
else:
    loop_api = lazy("annover.loop.api")
    model_config = lazy("annover.model.config")
    model_stats = lazy("annover.model.stats")


def _short(vid: str | None) -> str:
    return vid[:12] if vid else "-"


def _side(d: dict) -> str:
    rev, vid = d.get("rev"), d.get("id")
    if rev and vid and not vid.startswith(rev):
        return f"{rev} ({_short(vid)})"
    return _short(vid) if vid else rev or "(nothing)"  # no version: a dry run's empty repository


def _counts(d: dict, changed: str = "changed") -> str:
    parts = [f"+{d['added']}", f"-{d['removed']}"]
    if changed in d:
        parts.append(f"~{d[changed]}")
    return " ".join(parts)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def render_summary(s: dict, word: str = "regions") -> list[str]:
    """The default, readable summary; ``word``: what the answers' items are called ("regions",
    "results": :func:`annover.model.config.results_word`)."""
    lines = [f"diff {_side(s['a'])} -> {_side(s['b'])}", ""]
    if s["identical"]:
        lines.append("no differences")
        return lines
    t, a, r, k = s["tasks"], s["annotations"], s["regions"], s["skipped"]
    lines += table([
        ["Tasks:", f"{t['before']} -> {t['after']}",
         f"+{t['added']} added, -{t['removed']} removed, {t['data_changed']} data changed, "
         f"{t['with_annotation_changes']} with annotation changes"],
        ["Annotations:", f"{a['before']} -> {a['after']}",
         f"+{a['added']} added, -{a['removed']} removed, ~{a['changed']} changed"],
        [f"{word.capitalize()}:", f"{r['before']} -> {r['after']}",
         f"+{r['added']} added, -{r['removed']} removed, ~{r['changed']} changed"],
        ["Skipped:", f"{k['before']} -> {k['after']}", f"+{k['added']} skips, -{k['removed']} unskipped"],
        ["Labeled:", f"{s['labeled']['before']} -> {s['labeled']['after']}", ""],
        ["Unlabeled:", f"{s['unlabeled']['before']} -> {s['unlabeled']['after']}", ""],
    ], indent="")
    for ctl, labels in s["labels"].items():
        lines += ["", f"Labels {ctl}:"]
        lines += table([[label_name(lab), f"{c['before']} -> {c['after']}", f"{c['delta']:+d}" if c["delta"] else "="]
                         for lab, c in labels.items()])
    if s["relabels"]:
        lines += ["", f"Relabeled {word}:"]
        lines += table([[r_["control"], f"{_set(r_['from'], s, r_['control'])} -> {_set(r_['to'], s, r_['control'])}",
                         str(r_["count"])] for r_ in s["relabels"][:20]], right={2})
        if len(s["relabels"]) > 20:
            lines.append(f"  ... {len(s['relabels']) - 20} more (see --json)")
    if s["annotators"]:
        lines += ["", "Annotators (answers):"]
        lines += table([[model_stats.annotator_shown(name), f"{c['before']} -> {c['after']}", _counts(c)]
                        for name, c in s["annotators"].items()])
    lines += ["", "Config: " + _config_line(s["config"])]
    lines += _config_details(s["config"])
    lines += ["", "Predictions:" + ("" if s["predictions"]["model_versions"] else " none")]
    for mv, p in s["predictions"]["model_versions"].items():
        sign = {"added": "+", "removed": "-", "changed": "~", "unchanged": " "}[p["status"]]
        ag = p["agreement"]
        lines.append(f"  {sign} {mv or '(no model version)'}  {p['status']}; tasks {p['tasks']['before']} -> "
                     f"{p['tasks']['after']}; agreement with annotations {_pct(ag['before'])} -> {_pct(ag['after'])}"
                     + (f"; predictions {_counts(p['predictions'])}" if p["status"] == "changed" else ""))
    src = s["source"]
    if src is not None:
        lines += ["", "Source data: " + _source_line(src)]
        for what, sign in (("added", "+"), ("removed", "-"), ("modified", "~")):
            for p in src[what][:10]:
                lines.append(f"  {sign} {p}")
            if len(src[what]) > 10:
                lines.append(f"  ... {len(src[what]) - 10} more {what}")
        for p in src["renamed"][:10]:
            lines.append(f"  > {p['from']} -> {p['to']}")
    return lines


def _set(shown: str, s: dict, control: str) -> str:
    """A relabel's label set (``a, b``) as :func:`annover.model.names.label_set_name` names it among
    the control's labels counted on either side."""
    return label_set_name(shown, set(s["labels"].get(control, {})))


def _config_line(c: dict) -> str:
    if not c["changed"]:
        return "unchanged"
    bits = []
    for key, word in (("controls_added", "added"), ("controls_removed", "removed"), ("controls_renamed", "renamed"),
                      ("controls_changed", "changed")):
        if c[key]:
            bits.append(f"{len(c[key])} control(s) {word}")
    for key, word in (("labels_added", "added"), ("labels_removed", "removed"), ("labels_renamed", "renamed")):
        n = sum(len(v) for v in c[key].values())
        if n:
            bits.append(f"{n} label(s) {word}")
    return "changed" + (": " + ", ".join(bits) if bits else " (text only, same controls and labels)")


def _config_details(c: dict) -> list[str]:
    out = [f"  + control {n}" for n in c["controls_added"]]
    out += [f"  - control {n}" for n in c["controls_removed"]]
    out += [f"  > control {r['from']} -> {r['to']}" for r in c["controls_renamed"]]
    for ch in c["controls_changed"]:
        out += [f"  ~ control {ch['control']}: {k} {v[0]} -> {v[1]}" for k, v in ch.items() if k != "control"]
    for ctl, labs in c["labels_added"].items():
        out.append(f"  + {ctl}: {labels_named(labs)}")
    for ctl, labs in c["labels_removed"].items():
        out.append(f"  - {ctl}: {labels_named(labs)}")
    for ctl, pairs in c["labels_renamed"].items():
        out.append(f"  > {ctl}: " + ", ".join(f"{label_name(p['from'])} -> {label_name(p['to'])}" for p in pairs))
    return out


def _source_line(src: dict) -> str:
    if not src["changed"]:
        return f"unchanged ({src['files_after']} files)"
    return (f"{src['files_before'] if src['files_before'] is not None else '-'} -> "
            f"{src['files_after'] if src['files_after'] is not None else '-'} files: +{len(src['added'])} added, "
            f"-{len(src['removed'])} removed, ~{len(src['modified'])} changed, {len(src['renamed'])} renamed")


def render_stat(s: dict, word: str = "regions") -> list[str]:
    """``--stat``: one line per area (``word``: as :func:`render_summary`'s)."""
    if s["identical"]:
        return ["no differences"]
    t = s["tasks"]
    lines = [
        ["tasks", f"+{t['added']} -{t['removed']} ~{t['data_changed']}"],
        ["annotations", _counts(s["annotations"])],
        [word, _counts(s["regions"])],
    ]
    deltas = [f"{ctl}:{label_name(lab)} {c['delta']:+d}" for ctl, labels in s["labels"].items()
              for lab, c in labels.items() if c["delta"]]
    lines.append(["labels", ", ".join(deltas) if deltas else "="])
    lines.append(["config", _config_line(s["config"])])
    p = s["predictions"]
    bits = [f"+{m}" for m in p["model_versions_added"]] + [f"-{m}" for m in p["model_versions_removed"]]
    bits += [f"~{m}" for m, d in p["model_versions"].items() if d["status"] == "changed"]
    lines.append(["predictions", ", ".join(bits) if bits else "="])
    if s["source"] is not None:
        lines.append(["source", _source_line(s["source"])])
    return table(lines, indent="")


def _g(x: float | None, spec: str = ".3f") -> str:
    return "-" if x is None else format(x, spec)


def render_drift(d: dict) -> list[str]:
    """One line: per control, the Jensen-Shannon divergence and the chi-square p-value of its
    label distribution; the annotator whose own label rates moved most."""
    parts, worst = [], None
    for ctl, e in d["controls"].items():
        parts.append(f"{ctl} JS {_g(e['jensen_shannon'])}, chi-square p {_g(e['chi_square'].get('p_value'), '.3g')}")
        for who, x in e["annotators"].items():
            js = x["jensen_shannon"]
            if js is not None and (worst is None or js > worst[0]):
                worst = (js, who, ctl)
    line = "Drift: " + ("; ".join(parts) if parts else "no labels on either side")
    if worst is not None and worst[0] > 0:
        line += f"; annotator most shifted: {model_stats.annotator_shown(worst[1])} on {worst[2]} (JS {worst[0]:.3f})"
    return ["", line]


class _Differences(click.ClickException):
    """Exit 1 without a message: ``--exit-code`` found differences (like ``git diff --exit-code``)."""

    exit_code = 1

    def __init__(self) -> None:
        super().__init__("the versions differ")

    def show(self, file: object = None) -> None:
        pass


_SIGN = {"added": "+", "removed": "-", "changed": "~"}
#: rows ``--rows`` prints unless ``--limit`` says
ROW_LIMIT = 50


def render_rows(rows: list[dict]) -> list[str]:
    """``--rows``: one line per changed row."""
    lines = []
    for r in rows:
        if r["table"] == "tasks":
            who, control = "(task)", ""
        elif r["table"] == "predictions":
            who, control = f"model {r['model_version']}", r["from_name"] or ""
        else:
            who, control = model_stats.annotator_shown(r["annotator"]), r["from_name"] or ""
        kind = ",".join(r["kinds"]) if r["kinds"] else r["change"]
        lines.append([_SIGN[r["change"]], _clip(r["task_key"]), _clip(who), _clip(control), kind, r["description"] or ""])
    return table(lines, indent="")


def _clip(s: str, n: int = 32) -> str:
    return s if len(s) <= n else s[: n - 1] + "~"


def render_transitions(tr: dict) -> list[str]:
    """``--transitions``: a from/to matrix per control of the label each task resolves to; of a region
    control (``tr["regions"]``), of each region, paired by shape."""
    lines = []
    for ctl, cells in tr["controls"].items():
        labels_from = sorted({c["from"] for c in cells}, key=_label_order)
        labels_to = sorted({c["to"] for c in cells}, key=_label_order)
        grid = {(c["from"], c["to"]): c["count"] for c in cells}
        each = "regions paired by shape" if ctl in tr.get("regions", ()) else "tasks"
        lines.append(f"Transitions {ctl} ({each}, policy {tr['policy']}; rows: before, columns: after)")
        singles = {c[k] for c in cells for k in ("from", "to")}
        rows = [["", *(label_set_name(t, singles) for t in labels_to)]]
        for f in labels_from:
            rows.append([label_set_name(f, singles),
                         *[str(grid[(f, t)]) if (f, t) in grid else "." for t in labels_to]])
        lines += table(rows, right=set(range(1, len(labels_to) + 1)))
        moved = sorted((c for c in cells if c["from"] != c["to"]), key=lambda c: (-c["count"], c["from"], c["to"]))
        if moved:
            lines.append("  changed: " + ", ".join(f"{c['count']} {label_set_name(c['from'], singles)} -> "
                                                   f"{label_set_name(c['to'], singles)}" for c in moved[:12])
                         + (", ..." if len(moved) > 12 else ""))
        else:
            lines.append("  changed: none")
        lines.append("")
    if not tr["controls"]:
        lines.append("Transitions: no labeled controls")
    return lines


def _label_order(label: str) -> tuple[int, str]:
    return (1 if label.startswith("(") else 0, label)


@click.command(epilog="""\b
Examples:
  annover diff v1                       # v1 -> HEAD, readable summary
  annover diff v1 v2 --stat
  annover diff v1..v2 --stat            # the same, as git writes it (v1.. is v1..HEAD)
  annover diff main...relabel --stat    # what branch relabel changed since it left main (git diff A...B)
  annover diff v1 v2 --rows --limit 20  # changed rows: cat -> dog, box moved, IoU 0.82...
  annover diff v1 v2 --transitions --policy majority
  annover diff v1 v2 --output diff.parquet
  annover diff v1 v2 --json > diff.json
  annover diff v2 --exit-code           # CI gate: exit 1 when anything changed
  annover diff v1 v2 -q                 # no spinner on stderr while it works
  annover diff v1 v2 --task img_042.jpg --rows   # what changed of one task
""")
@click.argument("a")
@click.argument("b", required=False)
@click.option("--stat", is_flag=True, help="A short summary: one line per area.")
@click.option("--rows", "show_rows", is_flag=True, help="Each changed row: task, annotator, control, what changed.")
@click.option("--limit", type=click.IntRange(min=0, max=2**62), default=None, metavar="N",
              help=f"At most N changed rows (default {ROW_LIMIT}); 0 for all. Implies --rows, as git's -U implies -p.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), metavar="FILE.parquet", callback=not_empty,
              help="Write the full row-level diff as a Parquet table.")
@click.option("--force", is_flag=True, help="Replace --output if it exists.")
@click.option("--transitions", is_flag=True,
              help="Per control, a before/after matrix of the label each task resolves to.")
@click.option("--policy", type=click.Choice(POLICIES), default=DEFAULT_POLICY, show_default=True,
              help="How a task with several answers resolves to one label (transitions, prediction agreement): "
                   "ground-truth = a ground-truth answer, else the majority; majority; latest. Ties: the latest.")
@click.option("--iou-threshold", type=click.FloatRange(0, 1), default=DEFAULT_IOU, show_default=True,
              help="Boxes and polygons without a kept region id match when their IoU is at least this, keypoints when "
                   "their similarity is (0.5 at 2% of the image's diagonal apart).")
@click.option("--overlap-threshold", type=click.FloatRange(0, 1), default=DEFAULT_OVERLAP, show_default=True,
              help="Spans without a kept region id match when they share at least this part of the shorter one.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when the versions differ, 0 when not (for CI).")
@click.option("--no-drift", is_flag=True, help="Leave out drift (label and per-annotator rate shift): it counts "
              "both versions' labels whole, where the diff reads only the parts that differ.")
@click.option("--task", "tasks", multiple=True, metavar="KEY", callback=not_empty,
              help="Only what changed of this task (its data, answers, predictions); repeat for several. "
                   "The counts are of those tasks; drift is left out.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
@json_option
def diff(a: str, b: str | None, stat: bool, show_rows: bool, limit: int | None, output: str | None, force: bool,
         transitions: bool, policy: str, iou_threshold: float, overlap_threshold: float, exit_code: bool,
         no_drift: bool, tasks: tuple[str, ...], quiet: bool, as_json: bool) -> None:
    """What changed from version A to version B (default HEAD); A...B: from their nearest common version to B.

    Tasks, answers and regions added, removed or changed; labels per control and per
    annotator before -> after; config, predictions and source data changes. Regions are
    matched by id where the tool kept one, else boxes by IoU, keypoints by distance and
    spans by overlap. The
    summary and --json end with drift: per control, chi-square and Jensen-Shannon of the
    label distributions; the annotator whose label rates moved most (docs/loop.md).
    """
    arrow_without_pandas()
    show_rows = show_rows or limit is not None  # a limit on the rows asks for them
    limit = ROW_LIMIT if limit is None else limit
    repo = open_repo()
    a, b = diff_range(repo, a, b)
    if output is not None:
        check_output(repo, output, "--output", force)
        if Path(output).suffix.lower() != ".parquet":  # a .csv or .json name would hold Parquet bytes
            raise UsageError(f"--output {output}: the row-level diff is written as Parquet",
                             "name the file .parquet (pandas, DuckDB and pyarrow read it; --rows prints the rows)")
    summary_only = not (stat or show_rows or transitions)
    want_drift = not no_drift and not tasks and (as_json or summary_only)
    with Progress(quiet) as progress:  # a spinner on a terminal's stderr while the diff works
        progress(f"comparing {a} and {b}")
        result = repo.diff(a, b, iou_threshold=iou_threshold, overlap_threshold=overlap_threshold,
                           policy=policy, transitions=transitions, tasks=list(tasks) if tasks else None,
                           keep_rows=bool(output or show_rows))
        if want_drift:
            progress("counting drift")
        drift = loop_api.diff_drift(repo, a, b, result.identical) if want_drift else None
        if output or show_rows:
            progress("wording the changed rows")
            result.rows  # noqa: B018 - worded here, under the spinner
        if output:
            progress(f"writing {output}")
            result.write_parquet(output, force=True)  # checked above, before the diff
    s = result.summary
    for w in s["warnings"]:
        info(f"warning: {w}")
    if output:
        info(f"wrote {output} ({result.rows.num_rows} rows)")
    n = None if limit == 0 else limit
    word = model_config.results_word(*(repo.config_text(s[x]["id"]) if s[x].get("id") else None for x in "ab"))
    if as_json:
        emit_json({**result.to_json(rows=show_rows, limit=n), "drift": drift})
    else:
        lines: list[str] = []
        if stat:
            lines += render_stat(s, word)
        if show_rows:
            rows = result.rows_json(n)
            if lines:
                lines.append("")
            lines += render_rows(rows)
            if n is not None and result.rows.num_rows > n:
                info(f"{len(rows)} of {result.rows.num_rows} rows shown; --limit 0 shows all")
            elif not rows:
                info("no changed rows")
        if transitions:
            if lines:
                lines.append("")
            lines += render_transitions(result.transitions)
        if summary_only:
            lines += render_summary(s, word)
            lines += render_drift(drift) if drift is not None else []
        for line in lines:
            echo(line)
    if exit_code and not result.identical:
        raise _Differences()

