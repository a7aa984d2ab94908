"""CoNLL-2003 / BIO for span labels on text, to and from annover.

Export: a ``-DOCSTART- -X- -X- O`` line, then one sentence per task: a line per token,
``token _ _ TAG`` (CoNLL-2003's four columns, POS and chunk left ``_`` where the import kept
none), a blank line after each. Tags are in the scheme (:data:`SCHEMES`) asked for, by default the one
the tasks' CoNLL file was read in (:func:`file_scheme`), else BIO (IOB2): ``B-LABEL`` on a span's first
token, ``I-LABEL`` on the others, ``O`` outside; IOB1 writes ``B-`` only on the first token of an entity
right after one of the same label; BIOES (IOBES) ``S-`` on a one-token entity, ``E-`` on the last token.
Tasks come in Label Studio task id order where every task has one (a CoNLL
file read in keeps its sentence order), else in key order.

Tokenisation (stable, no model): the text is split at whitespace, and a token is split again
where a span starts or ends inside it, so every span covers whole tokens (``"Paris,"`` with
a span on ``Paris`` gives ``Paris`` and ``,``). The edges cut at are those of every span of
the task in the version (:func:`span_edges`: every answer's and every model's predictions),
not only the exported answer's, so the labels' CoNLL file and each model's (``--predictions``)
have the same tokens line for line, and seqeval can score one against the other. Overlapping
spans cannot be written in BIO: the span that starts first (then the longer) is kept and the
others are counted in the notes.

Import: tokens (first column) and tags (last column; BIO, IOB1, BIOES or BILOU), sentences split at
blank and ``-DOCSTART-`` lines. Each sentence is a task whose ``data.text`` is its tokens joined
by single spaces (a repeated sentence also gets ``data.copy``: 1, 2, ...), keyed by the hash of
its data, with one span per entity (``labels`` on the ``Text`` object). The columns between token
and tag (POS, chunk: where one of the file is not ``_``), ``-DOCSTART-`` lines (but a first one
the export writes anyway) and ``#`` comment lines are kept in the task's ``meta.conll`` (task
meta, not data: the key stays the text's) and written back by the export; so are the file's tag
scheme (``scheme``: the one that writes its entities with the fewest other tags; BIO, the default, is
not kept) and the tags it gave that its scheme writes otherwise (``tags``: flair's stray ``S-`` in a
BIO file), written back while the sentence's tokens and entities are those read and no scheme is asked for.

Splits: where the tasks' data name a split (``split``: ``train``, ``val``, ``test``, as YOLO takes it),
:func:`by_split` writes a file per split (:data:`SPLIT_FILES`), named as flair's ``ColumnCorpus`` finds
them in a folder; a task of no split beside others with one is in train.
"""

from __future__ import annotations

import bisect
import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

from annover._lazy import lazy
from annover._runtime import no_gc
from annover.errors import InputError, UsageError, shown
from annover.formats import SCHEME_NAMES, SCHEMES
from annover.formats.resolve import Picked, in_task_order
from annover.formats.text import fail, utf8_text
from annover.formats.train import TrainInput, labels_tag, refuse_not_xml, unlabeled
from annover.formats.yolo import SPLITS, split_of
from annover.model.config import LabelingConfig

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    pc = lazy("pyarrow.compute")

__all__ = ["SCHEMES", "SPLIT_FILES", "SplitFiles", "by_split", "entity_spans", "file_scheme", "read", "scheme_name",
           "scheme_tags", "sentence_result", "span_edges", "tokens", "write"]

#: task key -> text object (``to_name``) -> the offsets where a span starts or ends
Edges = dict[str, dict[Any, set[int]]]

_WS = re.compile(r"\S+")
#: the document start line the export writes first (CoNLL-2003's)
DOCSTART = "-DOCSTART- -X- -X- O"
SPAN_TYPES = ("labels",)
#: a version whose tasks have splits: a file per split, named so that flair's ``ColumnCorpus(folder, ...)``
#: finds its train, dev and test files (CoNLL-2003's development set is ``val``'s)
SPLIT_FILES = {"train": "train.conll", "val": "dev.conll", "test": "test.conll"}


def tokens(text: str, cuts: set[int] | None = None) -> list[tuple[int, int]]:
    """(start, end) of each token: whitespace-separated, split again at the offsets ``cuts`` (sorted
    once and found by bisection: a sentence of a million tokens and as many cuts stays linear)."""
    out = []
    at = sorted(cuts or ())
    for m in _WS.finditer(text):
        s, e = m.start(), m.end()
        for c in at[bisect.bisect_right(at, s):bisect.bisect_left(at, e)]:
            out.append((s, c))
            s = c
        out.append((s, e))
    return out


def _text_field(cfg: LabelingConfig | None, data: dict, to_name: str | None) -> str:
    """The data field of the text a task's spans are on: their object's (``to_name``), else (a task no
    answer or model drew a span on) the one object the config's span controls label, else ``text``
    or the data's only string."""
    if cfg is not None and to_name and to_name in cfg.objects and cfg.objects[to_name].field in data:
        return cfg.objects[to_name].field
    if cfg is not None and to_name is None:
        fields = {cfg.objects[o].field for c in cfg.controls.values() if c.tag == "Labels"
                  for o in c.to_name if o in cfg.objects and cfg.objects[o].field in data}
        if len(fields) == 1:
            return fields.pop()
    if isinstance(data.get("text"), str):
        return "text"
    strings = [k for k, v in data.items() if isinstance(v, str)]
    if len(strings) == 1:
        return strings[0]
    raise InputError(f"task data {sorted(data)} has no field the text is in",
                     "give a labeling config with a <Text value=\"$field\"> tag")


def _label(label: str, task_key: str) -> str:
    """A span's label as a tag writes it; one CoNLL cannot hold (its columns are split at whitespace) refused."""
    if label.split() != [label]:
        raise UsageError(f"task {task_key!r}: the label {label!r} is empty or holds whitespace, and CoNLL's "
                         "columns are split at whitespace (the tag would read as another label)",
                         "rename the label in the labeling config (e.g. spaces to _), or export --format hf or jsonl")
    return label


def _edges(value: Any) -> tuple[int, int] | None:
    """(start, end) of a span's ``value`` (parsed or its JSON text), None for no span."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if not isinstance(value, dict) or "start" not in value or "end" not in value:
        return None
    try:
        return int(value["start"]), int(value["end"])
    except (TypeError, ValueError):
        return None


def span_edges(tables: dict[str, "pa.Table"]) -> Edges:
    """Where the spans of each task start and end, over the whole version: every answer's (skipped
    ones too) and every model's predictions, per text object. :func:`write` cuts tokens at all of
    them, so that whichever answer or model is exported, a task's tokens are the same."""
    out: Edges = {}
    for name in ("annotations", "predictions"):
        t = tables.get(name)
        if t is None or not t.num_rows or not {"task_key", "to_name", "type", "value"} <= set(t.column_names):
            continue
        t = t.filter(pc.equal(t.column("type"), "labels"))
        for key, to, value in zip(*(t.column(c).to_pylist() for c in ("task_key", "to_name", "value"))):
            edges = _edges(value)
            if edges is not None:
                out.setdefault(key, {}).setdefault(to, set()).update(edges)
    return out


def _chosen(spans: list, text: str, task_key: str, off: list[str]) -> tuple[list[tuple[int, int, str]], int]:
    """The spans BIO can hold, (start, end, label) in text order, and how many overlapping ones were
    left out; a span whose ``text`` is not the task's at its offsets is added to ``off``."""
    chosen: list[tuple[int, int, str]] = []
    overlapping = 0
    for r in sorted(spans, key=lambda r: (int(r.value["start"]), -int(r.value["end"]))):
        s, e = int(r.value["start"]), int(r.value["end"])
        said = r.value.get("text")
        if isinstance(said, str) and said != text[s:e]:
            off.append(f"task {task_key!r} {s}-{e}: {said!r} reads {text[s:e]!r}")
        if chosen and s < chosen[-1][1]:
            overlapping += 1
            continue
        chosen.append((s, e, _label(r.labels[0] if r.labels else "", task_key)))
    return chosen, overlapping


def _meta_of(meta: Any, task_key: str) -> dict[str, Any]:
    """A task's ``meta.conll`` (what the import kept of its sentence: :func:`_kept`), checked: a task meta
    edited by hand into something else is a UsageError naming the task and the field."""
    kept = meta.get("conll") if isinstance(meta, dict) else None
    if kept is None:
        return {}
    where, hint = f"task {task_key!r}: meta.conll", "fix the task's meta, or remove it"
    if not isinstance(kept, dict):
        raise UsageError(f"{where} is {type(kept).__name__}, not an object of columns and lines", hint)
    cols, lines = kept.get("columns"), kept.get("lines", [])
    if not isinstance(cols, (list, type(None))) or not isinstance(lines, list):
        raise UsageError(f"{where}: its columns and lines are not lists", hint)
    for mid in cols or []:
        if not isinstance(mid, list) or not all(isinstance(c, str) and c.split() == [c] for c in mid):
            raise UsageError(f"{where}.columns: {str(mid)[:60]} is not a list of words (a token's columns)", hint)
    for ln in lines:
        if not (isinstance(ln, list) and len(ln) == 2 and isinstance(ln[0], int) and isinstance(ln[1], str)
                and ln[1].splitlines() == [ln[1]]):
            raise UsageError(f"{where}.lines: {str(ln)[:60]} is not [token index, line]", hint)
    if kept.get("scheme", "bio") not in SCHEMES:
        raise UsageError(f"{where}.scheme: {str(kept['scheme'])[:60]} is not one of {', '.join(SCHEMES)}", hint)
    tags = kept.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, list) and len(t) == 2 and isinstance(t[0], int)
                                             and t[0] >= 0 and isinstance(t[1], str) and _is_tag(t[1])
                                             and t[1].split() == [t[1]] for t in tags):
        raise UsageError(f"{where}.tags: {str(tags)[:60]} is not a list of [token index, tag]", hint)
    return kept


def _sentence_lines(text: str, toks: list[tuple[int, int]], tags: list[str], kept: dict[str, Any], width: int,
                    counts: dict[str, int]) -> list[str]:
    """The lines of one sentence: its kept lines (``-DOCSTART-`` and comments, a ``-DOCSTART-`` followed
    by a blank line) before the tokens they came before, a line per token (its kept middle columns, else
    ``_``, ``width`` of them), a blank line, then the lines kept after the sentence. A token the import
    did not read (cut at a span edge drawn since, or the text edited) has ``_`` columns (``counts``)."""
    ws = tokens(text)  # the tokens as the file gave them: whitespace-separated
    cols = kept.get("columns")
    if cols is not None and len(cols) != len(ws):  # the text was edited since: no column is known
        counts["edited"] += 1
        cols = None
    at = {t: j for j, t in enumerate(ws)}
    starts = [ts for ts, _ in toks]
    placed: dict[int, list[str]] = {}
    for j, line in kept.get("lines", []):  # before the token the file's j-th token begins
        placed.setdefault(bisect.bisect_left(starts, ws[j][0]) if 0 <= j < len(ws) else len(toks), []).append(line)
    out: list[str] = []
    for i, ((ts, te), tag) in enumerate(zip(toks, tags)):
        out += [x for line in placed.get(i, []) for x in ([line, ""] if line.startswith("-DOCSTART-") else [line])]
        j = at.get((ts, te))
        if cols is not None and j is None:
            counts["cut"] += 1
        mid = list(cols[j]) if cols is not None and j is not None else []
        out.append(" ".join([text[ts:te], *mid, *["_"] * (width - len(mid)), tag]))
    out.append("")
    return out + [x for i, lines in placed.items() if i >= len(toks) for line in lines
                  for x in ([line, ""] if line.startswith("-DOCSTART-") else [line])]


def write(picked: Picked, cfg: LabelingConfig | None, notes: list[str], edges: Edges | None = None,
          scheme: str = "bio", strict: bool = False) -> bytes:
    """CoNLL-2003 text of the span labels of ``picked``, tagged in ``scheme`` (:data:`SCHEMES`); tokens
    are cut at the span edges of the chosen answer and at ``edges`` (:func:`span_edges` of the version:
    the same tokens for every answer and model). What the import kept of a sentence (the task's
    ``meta.conll``: its other columns, ``-DOCSTART-`` and comment lines, and unless ``strict`` (a scheme
    asked for) the tags it gave that ``scheme`` writes otherwise) is written back."""
    items = in_task_order(picked)
    kept = {it.task_key: _meta_of(picked.task_meta.get(it.task_key), it.task_key) for it in items}
    width = max((len(mid) for k in kept.values() for mid in k.get("columns") or []), default=2)
    out: list[str] = []
    counts = {"overlapping": 0, "empty": 0, "other": 0, "edited": 0, "cut": 0}
    off: list[str] = []  # spans whose text is not the task's text at their offsets
    left: dict[str, int] = {}  # regions left out, by control: not spans, or spans of another control
    tag_control = _tag_control(items)
    for it in items:
        spans = [r for r in it.regions if (r.type or "") in SPAN_TYPES and "start" in r.value
                 and tag_control in (None, r.from_name)]
        counts["other"] += len(it.regions) - len(spans)
        written = {id(r) for r in spans}
        for r in it.regions:
            if id(r) not in written:
                left[str(r.from_name)] = left.get(str(r.from_name), 0) + 1
        task_edges = (edges or {}).get(it.task_key, {})
        # the text object: the answer's spans', else (no span in this answer) the one other answers' label
        to_name = spans[0].to_name if spans else min(task_edges, key=str, default=None)
        try:
            text = str(it.data[_text_field(cfg, it.data, to_name)])
        except InputError as e:
            raise InputError(f"task {it.task_key!r}: {e.message}", e.hint) from None
        chosen, n = _chosen(spans, text, it.task_key, off)
        counts["overlapping"] += n
        toks = tokens(text, {c for s, e, _ in chosen for c in (s, e)} | task_edges.get(to_name, set()))
        if not toks:  # a sentence of no tokens is no sentence: a reader sees nothing there
            counts["empty"] += 1
            continue
        ents = _token_spans(chosen, toks)
        tags = scheme_tags(ents, len(toks), scheme)
        if not strict:
            tags = _as_read(tags, ents, text, toks, kept[it.task_key], scheme)
        out += _sentence_lines(text, toks, tags, kept[it.task_key], width, counts)
    if not out or not any(line.startswith("-DOCSTART-") for line in out[:out.index("")]):
        out = [DOCSTART, ""] + out  # no document start of its own before the first sentence
    _notes(counts, off, notes, left)
    return ("\n".join(out) + "\n").encode("utf-8")


class SplitFiles(Mapping[str, bytes]):
    """CoNLL's file per split (:data:`SPLIT_FILES` name -> bytes), each written (:func:`write`) when first
    read: an export to one file reads none (it wrote every split twice, the file and the split's file)."""

    def __init__(self, parts: dict[str, Picked], render: Callable[[Picked], bytes]) -> None:
        self._parts, self._render = parts, render
        self._done: dict[str, bytes] = {}

    def __getitem__(self, name: str) -> bytes:
        if name not in self._done:
            with no_gc():  # as render_train renders the one file: the collector's passes cost a third of the time
                self._done[name] = self._render(self._parts[name])
        return self._done[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._parts)

    def __len__(self) -> int:
        return len(self._parts)


def by_split(picked: Picked, cfg: LabelingConfig | None, notes: list[str], edges: Edges | None = None,
             scheme: str = "bio", strict: bool = False) -> SplitFiles | None:
    """:func:`write` of each split's tasks (``data.split``, :func:`annover.formats.yolo.split_of`), a file per
    split (:data:`SPLIT_FILES`), written as each is read (:class:`SplitFiles`); tasks of no split beside others
    with one in train (said in ``notes``, with what each file holds). None where no task has a split. A task
    is written as :func:`write` writes it in the one file: its tokens do not depend on the other tasks."""
    given = [split_of(it.data or {}) for it in picked.items]
    if not any(given):
        return None
    loose = given.count(None)
    if loose:
        notes.append(f"{loose} task(s) have no split (task data 'split') beside others that have one: "
                     f"they are in {SPLIT_FILES['train']}")
    of = [s or "train" for s in given]
    parts = {SPLIT_FILES[s]: dataclasses.replace(picked, items=[it for it, x in zip(picked.items, of) if x == s])
             for s in SPLITS if s in of}
    notes.append("CoNLL: a file per split (" + ", ".join(f"{SPLIT_FILES[s]} {of.count(s)} task(s)"
                                                        for s in SPLITS if s in of) + ")")
    return SplitFiles(parts, lambda part: write(part, cfg, [], edges, scheme, strict))


def _token_spans(chosen: list[tuple[int, int, str]], toks: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """(first token, last token + 1, label) of each chosen span that covers a token: the tokens between
    its edges, found by bisection (tokens are in text order and do not overlap), so that a sentence of a
    million tokens and as many spans takes no pass over its tokens per span."""
    starts, ends = [ts for ts, _ in toks], [te for _, te in toks]
    out = []
    for s, e, label in chosen:
        lo, hi = bisect.bisect_left(starts, s), bisect.bisect_right(ends, e)
        if lo < hi:
            out.append((lo, hi, label))
    return out


def scheme_name(name: str) -> str:
    """The scheme (:data:`SCHEMES`) ``name`` is (``--tag-scheme``; seqeval's ``IOB2`` and ``IOBES`` too, any case)."""
    got = SCHEME_NAMES.get(name.lower()) if isinstance(name, str) else None
    if got is None:
        raise UsageError(f"unknown tag scheme {name!r}", "use bio (IOB2), iob1 or bioes (IOBES)")
    return got


def scheme_tags(ents: list[tuple[int, int, str]], n: int, scheme: str) -> list[str]:
    """The tags of ``n`` tokens holding the entities ``ents`` ((first token, last + 1, label), in order, apart) in
    ``scheme``: ``bio`` begins every entity with ``B-``; ``iob1`` only one right after an entity of its label (else
    ``I-``); ``bioes`` tags a one-token entity ``S-``, a longer one ``B-``, ``I-``..., ``E-``."""
    tags = ["O"] * n
    last: tuple[int, str | None] = (-1, None)
    for a, b, label in ents:
        tags[a:b] = ["I-" + label] * (b - a)
        if scheme == "bioes":
            tags[a], tags[b - 1] = ("S-" + label,) * 2 if b - a == 1 else ("B-" + label, "E-" + label)
        elif scheme == "bio" or last == (a, label):
            tags[a] = "B-" + label
        last = (b, label)
    return tags


def _odd_tags(tags: list[str], ents: list[tuple[int, int, str]], scheme: str) -> list[list]:
    """[token index, tag] of the tags a sentence gave that ``scheme`` writes otherwise (flair's stray ``S-``)."""
    return [[i, a] for i, (a, b) in enumerate(zip(tags, scheme_tags(ents, len(tags), scheme))) if a != b]


def _as_read(tags: list[str], ents: list[tuple[int, int, str]], text: str, toks: list[tuple[int, int]],
             kept: dict[str, Any], scheme: str) -> list[str]:
    """``tags``, but for the tags the file gave that ``scheme`` writes otherwise (``meta.conll``'s ``tags``),
    where the sentence is as it was read: written in the file's scheme, its tokens uncut, its entities the same."""
    said = kept.get("tags")
    if not said or scheme != kept.get("scheme", "bio") or toks != tokens(text):
        return tags
    out = list(tags)
    for i, tag in said:
        if i < len(out):
            out[i] = tag
    return out if entity_spans(out, out) == ents else tags


def file_scheme(picked: Picked, notes: list[str]) -> str:
    """The scheme an export writes unless told: the one the tasks' CoNLL file was read in (``meta.conll``'s
    ``scheme``, ``bio`` where it has none); ``bio`` where no task came from CoNLL, or they came from files of
    several schemes (the notes say so)."""
    said: dict[str, int] = {}
    for it in picked.items:
        meta = picked.task_meta.get(it.task_key)
        if isinstance(meta, dict) and meta.get("conll") is not None:
            scheme = _meta_of(meta, it.task_key).get("scheme", "bio")
            said[scheme] = said.get(scheme, 0) + 1
    if len(said) > 1:
        counts = ", ".join(f"{n} {s}" for s, n in said.items())
        notes.append(f"the tasks came from CoNLL files of several tag schemes ({counts}): written in bio; "
                     "choose one with --tag-scheme")
    return next(iter(said)) if len(said) == 1 else "bio"


#: the note of each count :func:`write` keeps, where it is not 0
_NOTES = {
    "overlapping": "{} overlapping span(s) cannot be written in BIO and were left out",
    "empty": "{} task(s) whose text has no token (empty or blank) have no sentence in CoNLL and were left out",
    "edited": "{} sentence(s) whose text was edited since import have _ in the columns between token and tag (the "
              "file's columns no longer match its tokens)",
    "cut": "{} token(s) cut at a span's edge since import have _ in the columns between token and tag (the file "
           "gave them for the whole token)",
}


#: the control whose spans CoNLL's one tag column gets where spans of several are there: a Hugging Face dataset's
#: ``ner_tags`` (read as control ``ner``) beside its ``chunk_tags`` (CoNLL-2003's), which are BIO too
NER_CONTROL = "ner"


def _tag_control(items: list) -> str | None:
    """The one control whose spans :func:`write` writes (:data:`NER_CONTROL`), None: every control's."""
    names = {r.from_name for it in items for r in it.regions if (r.type or "") in SPAN_TYPES}
    return NER_CONTROL if NER_CONTROL in names and len(names) > 1 else None


def _notes(counts: dict[str, int], off: list[str], notes: list[str], left: dict[str, int]) -> None:
    """The notes of :func:`write`: what it left out (``left``: regions by control) or could not write as the
    import read it."""
    if off:
        notes.append(f"{len(off)} span(s) whose text is not the task's text at their offsets were written by the "
                     f"offsets (e.g. {off[0]}): the offsets or the task text changed after labeling")
    notes += [_NOTES[k].format(n) for k, n in counts.items() if n and k != "other"]
    if counts["other"]:
        by = ", ".join(f"{n} of {c!r}" for c, n in sorted(left.items()))
        notes.append(f"{counts['other']} region(s) ({by}) have no place in CoNLL's one column of span tags and were "
                     "left out; the version keeps them: `annover export --format hf` (or annover.load(REV, "
                     "format='hf')) has every control, a column each")


def sentence_result(toks: list[str], ents: list[tuple[int, int, str]], control: str, obj: str
                    ) -> tuple[str, list[dict]]:
    """The text of tokens ``toks`` (joined by single spaces) and the result items of entities ``ents``
    ((first token, last token + 1, label), as :func:`entity_spans` gives them) on it."""
    starts, pos = [], 0
    for t in toks:
        starts.append(pos)
        pos += len(t) + 1
    text = " ".join(toks)
    result = []
    for a, b, label in ents:
        s, e = starts[a], starts[b - 1] + len(toks[b - 1])
        result.append({"from_name": control, "to_name": obj, "type": "labels",
                       "value": {"start": s, "end": e, "text": text[s:e], "labels": [label]}})
    return text, result


def entity_spans(tags: list[str], where: list[str]) -> list[tuple[int, int, str]]:
    """(first token, last token + 1, label) of each entity in BIO / IOB1 / BIOES (or BILOU: spaCy's) tags."""
    out: list[tuple[int, int, str]] = []
    cur: list[Any] | None = None
    for i, tag in enumerate(tags):
        if tag == "O":
            cur = None
            continue
        if len(tag) < 3 or tag[1] != "-" or tag[0] not in "BIESLU":
            raise InputError(f"{where[i]}: tag {tag!r} is not O, B-X, I-X, E-X, S-X, L-X or U-X",
                             "use BIO (IOB2), IOB1, BIOES or BILOU tags")
        kind, label = tag[0], tag[2:]
        refuse_not_xml(label, where[i], f"the label of tag {shown(tag)}")
        if kind in "BSU" or cur is None or cur[2] != label:
            cur = [i, i + 1, label]
            out.append(cur)  # type: ignore[arg-type]
        else:
            cur[1] = i + 1
        if kind in "SELU":  # BILOU's L- and U- are BIOES's E- and S-
            cur = None
    return [tuple(s) for s in out]  # type: ignore[misc]


@dataclass
class _Sentence:
    """A sentence as read: (token, its middle columns, tag, where) per token line, and the other lines
    (``-DOCSTART-``, comments) as [index of the token they come before, the line]."""

    tokens: list[tuple[str, list[str], str, str]] = field(default_factory=list)
    lines: list[list] = field(default_factory=list)
    nested: list[str] = field(default_factory=list)  # GermEval 2014's second tag column (:func:`_germeval`)


def _is_tag(s: str) -> bool:
    return s == "O" or len(s) > 2 and s[1] == "-" and s[0] in "BIESLU"


def _sentences(path: Path) -> list[_Sentence]:
    """The sentences of the CoNLL file ``path``; a sentence ends at a blank or ``-DOCSTART-`` line. A
    line starting with ``#`` whose last column is no tag (or of other columns than the token lines) is a
    comment. The file's first ``-DOCSTART-`` line, where it is the one :func:`write` writes, is not kept."""
    sentences = [_Sentence()]
    first: tuple[int, int] | None = None  # (line, columns) of the first token line
    top = True  # no line but blank ones read yet
    latin1 = (f"convert it, e.g. `iconv -f latin1 -t utf-8 {path.name} > {path.stem}.utf8{path.suffix}` "
              "(CoNLL-2002's files are Latin-1)")
    for n, line in enumerate(utf8_text(path, latin1).splitlines(), 1):
        cols, cur = line.split(), sentences[-1]
        if cols and cols[0] == "-DOCSTART-":  # a document's start ends a sentence, as a blank line does
            if cur.tokens:
                sentences.append(cur := _Sentence())
            if " ".join(cols) != DOCSTART or not top:
                cur.lines.append([0, " ".join(cols)])
            top = False
            continue
        if not cols:
            if cur.tokens:
                sentences.append(_Sentence())
            continue
        top = False
        if cols[0].startswith("#") and (not _is_tag(cols[-1]) or len(cols) < 2 or first and len(cols) != first[1]):
            cur.lines.append([len(cur.tokens), line])
            continue
        if len(cols) < 2:
            raise InputError(f"{path}: line {n}: one column, expected a token and its tag",
                             "write `token TAG` (or CoNLL-2003's `token POS chunk TAG`)")
        first = first or (n, len(cols))
        if len(cols) != first[1]:  # a line without its tag would read its chunk tag (I-NP) as an entity
            raise InputError(f"{path}: line {n}: {len(cols)} columns, line {first[0]} has {first[1]}",
                             "give every token line the same columns, the tag last")
        cur.tokens.append((cols[0], cols[1:-1], cols[-1], f"{path}: line {n}"))
    if not sentences[-1].tokens and len(sentences) > 1:  # lines after the last sentence: kept after it
        rest, last = sentences.pop(), sentences[-1]
        last.lines += [[len(last.tokens), text] for _, text in rest.lines]
    return _germeval([s for s in sentences if s.tokens])


def _germeval(sentences: list[_Sentence]) -> list[_Sentence]:
    """``sentences`` of a GermEval 2014 file (``index token outer-tag nested-tag``: every token line of 4
    columns, the first counting 1, 2, ... in each sentence, the others tags) read as its users do: the token
    from the second column, its entity tag from the third and its nested entity's from the fourth
    (``nested``); the index, which the token's place gives, is not kept. Other files as they are."""
    if not all(len(mid) == 2 and tok == str(i) and _is_tag(mid[1]) and _is_tag(tag)
               for sent in sentences for i, (tok, mid, tag, _) in enumerate(sent.tokens, 1)):
        return sentences
    for sent in sentences:
        sent.nested = [tag for _, _, tag, _ in sent.tokens]
        sent.tokens = [(mid[0], [], mid[1], where) for _, mid, _, where in sent.tokens]
    return sentences


def _kept(sent: _Sentence, columns: bool, scheme: str, ents: list[tuple[int, int, str]]) -> dict[str, Any]:
    """What :func:`write` writes back of a sentence beside its tokens and entities: its other lines, (``columns``:
    the file has a middle column that is not ``_``) its tokens' middle columns, the file's tag ``scheme`` where it
    is not bio, and the tags it gave that the scheme writes otherwise."""
    kept: dict[str, Any] = {"columns": [mid for _, mid, _, _ in sent.tokens]} if columns else {}
    if sent.lines:
        kept["lines"] = sent.lines
    if scheme != "bio":
        kept["scheme"] = scheme
    if odd := _odd_tags([g for _, _, g, _ in sent.tokens], ents, scheme):
        kept["tags"] = odd
    return kept


def _scheme_of(found: list[tuple[list[str], list[tuple[int, int, str]]]]) -> str:
    """The scheme (:data:`SCHEMES`) a file's (tags, entities) of each sentence are in: the one that writes its
    entities with the fewest other tags (the first, bio, on a tie, as in a file of no entity)."""
    return min(SCHEMES, key=lambda sc: sum(len(_odd_tags(tags, ents, sc)) for tags, ents in found))


def _refuse_tags_elsewhere(sentences: list[_Sentence]) -> None:
    """Refuse a file whose last column holds no tag where a column between holds tags on every line
    (flair's ``token tag +``, the last column its space-after flag), naming that column: the tag is read
    from the last column, and the value found there was said as a bad tag."""
    lines = [tok for sent in sentences for tok in sent.tokens]
    bad = next(((tag, where) for _, _, tag, where in lines if not _is_tag(tag)), None)
    if bad is None:
        return
    col = next((j for j in range(len(lines[0][1]) - 1, -1, -1) if all(_is_tag(mid[j]) for _, mid, _, _ in lines)), None)
    if col is not None:
        raise InputError(f"{bad[1]}: {bad[0]!r} in the last column is no tag (O, B-X, I-X, E-X, S-X), and column "
                         f"{col + 2} holds tags on every line: annover reads a token's tag from its last column",
                         f"move column {col + 2} to the end of each line (the token first, its tag last)")


#: a CoNLL-U token line's ID: a word's (1), a multiword token's range (1-2), an empty node's (1.1)
_CONLLU_ID = re.compile(r"^\d+([-.]\d+)?$")


def _refuse_conllu(path: Path, sentences: list[_Sentence]) -> None:
    """Refuse a CoNLL-U file (Universal Dependencies: 10 columns a token, an ID first) whose last column
    (MISC) holds no tag and no other column holds tags, naming the format: it has no entity tag to read."""
    lines = [(tok, mid, tag) for sent in sentences for tok, mid, tag, _ in sent.tokens]
    if all(len(mid) == 8 and _CONLLU_ID.match(tok) for tok, mid, _ in lines) and \
            not all(_is_tag(tag) for _, _, tag in lines):
        raise fail(path, "is CoNLL-U (Universal Dependencies: ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC), "
                         "which has no column of entity tags: annover reads NER, a token and its tag a line",
                   "give a CoNLL file of each token (FORM) and its BIO tag (`token TAG` a line); a CoNLL-U file "
                   "whose MISC holds NER=B-PER..: write its FORM and that tag as two columns first")


def read(path: Path) -> TrainInput:
    """Label Studio tasks and a config for the CoNLL file ``path``."""
    sentences = _sentences(path)
    if not sentences:
        raise fail(path, "no sentences", "give a CoNLL file: a token and its tag per line, sentences split by blank lines")
    _refuse_tags_elsewhere(sentences)
    _refuse_conllu(path, sentences)
    columns = any(c != "_" for sent in sentences for _, mid, _, _ in sent.tokens for c in mid)
    tags = [[g for _, _, g, _ in sent.tokens] for sent in sentences]
    found = [(g, entity_spans(g, [w for _, _, _, w in sent.tokens])) for g, sent in zip(tags, sentences)]
    scheme = _scheme_of(found)
    tasks, labels, seen = [], [], {}
    for i, (sent, (_, ents)) in enumerate(zip(sentences, found)):
        inner = entity_spans(sent.nested, [w for _, _, _, w in sent.tokens]) if sent.nested else []
        text, result = sentence_result([t for t, _, _, _ in sent.tokens], ents + inner, "label", "text")
        labels += [lb for lb in dict.fromkeys(lb for _, _, lb in ents + inner) if lb not in labels]
        data: dict[str, Any] = {"text": text}
        copy = seen.get(text, 0)
        seen[text] = copy + 1
        if copy:
            data["copy"] = copy
        task: dict[str, Any] = {"id": i + 1, "data": data, "annotations": [{"result": result}]}
        if kept := _kept(sent, columns, scheme, ents):  # in the task's meta: the key stays the hash of its data
            task["meta"] = {"conll": kept}
        tasks.append(task)
    cfg = ("<View>\n  <Text name=\"text\" value=\"$text\"/>\n" + labels_tag("Labels", "label", "text", labels)
           + "</View>\n")
    # a file of no entity tag at all is text not labeled yet (tokenised for labeling), as a COCO
    # file of no annotation is images not labeled yet: its sentences get no answer
    return TrainInput(tasks, cfg, key=None, warnings=unlabeled(tasks, path, "entity tag", "sentence"))
