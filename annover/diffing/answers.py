"""Diff of two answers tables (annotations, or one model version's predictions): counts in
SQL and Arrow, the leftover regions of an answer matched by shape, rows worded on demand."""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from annover._lazy import lazy
from annover.diffing import columns as K
from annover.diffing import pairing, sql
from annover.diffing.ids import same_ids
from annover.diffing.describe import segment
from annover.diffing.match import MAY_BE_SHAPE, Region, match_regions
from annover.diffing.result import ADDED, BY_CONTROL, CHANGED, NO_LABEL, REMOVED, Options, fmt_labels
from annover.diffing.sources import Source, Spec
from annover.model.canonical import single_chunk as C1
from annover.store.duck import cursor, fetch
from annover.store.merge import READERS

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    np = lazy("numpy")
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")


#: From this many tasks that differ on, a diff by stored hashes splits them in :data:`PARTS`
#: parts or more, read one at a time and paired on :data:`READERS` threads (a task's rows
#: are all in one part).
PARTITION_TASKS = 20_000
PARTS = READERS
#: ... and in more parts when the parts would hold more rows a side than this (every label
#: relabeled, summary only, as a new process: 1M rows 4 parts, 1.34 s at 750 MB where 2 parts
#: took 1.50 s at 1.1 GB; 10M rows 40 parts, 8.9 s at 1.0 GB where 17 took 8.2 s at 1.8 GB)
PART_ROWS = 250_000
#: The parts of a diff keep their rows for the row table up to this many rows (both sides),
#: and read the others again for it (1M rows, every label relabeled: 2M rows, all kept)
KEEP_ROWS = 2_400_000
#: From this share of a side's tasks touched on, the rows of a range of keys are read whole,
#: not joined to the keys of the tasks touched, and the few untouched rows pair away in
#: memory (1M rows, every label relabeled: the reads 0.39 -> 0.30 s; at 30% relabeled, 66%
#: of the tasks touched, the untouched rows cost the pairing more than the join saves)
WHOLE_RANGE_SHARE = 0.9


def _no_rows() -> list:
    return []


@dataclass
class TableDiff:
    """What differs between two answers tables, counted: answers added, removed and changed,
    regions added, removed and changed, relabels, skips, answers per annotator; the changed
    rows themselves (tables of :func:`annover.diffing.result.row_schema`) only when asked for."""

    added: int = 0  # answers
    removed: int = 0
    changed: int = 0
    tasks: int = 0  # tasks with an answer added, removed or changed
    skips_added: int = 0
    skips_removed: int = 0
    #: annotator (or model version; "-" for none) -> {"added", "removed", "changed"} answers
    per_annotator: dict[str, dict[str, int]] = field(default_factory=dict)
    regions: dict[str, int] = field(default_factory=lambda: {ADDED: 0, REMOVED: 0, CHANGED: 0})
    #: (control, labels before, labels after) -> regions relabeled so
    relabels: dict[tuple[str, str, str], int] = field(default_factory=dict)
    any_rows: bool = False
    rows: Callable[[], list["pa.Table"]] = _no_rows
    #: the keys of the tasks found touched: every other task has the same rows on both sides
    touched: "pa.Array" = field(default_factory=lambda: pa.array([], pa.string()))

    @classmethod
    def of_parts(cls, parts: "list[TableDiff]") -> "TableDiff":
        """The diff of tables whose tasks are split among ``parts`` (each task in one part)."""
        if len(parts) == 1:
            return parts[0]
        out = cls()
        for d in parts:
            out.added, out.removed, out.changed = out.added + d.added, out.removed + d.removed, out.changed + d.changed
            out.tasks, out.skips_added, out.skips_removed = (out.tasks + d.tasks, out.skips_added + d.skips_added,
                                                             out.skips_removed + d.skips_removed)
            for who, counts in d.per_annotator.items():
                mine = out.per_annotator.setdefault(who, {ADDED: 0, REMOVED: 0, CHANGED: 0})
                for k, v in counts.items():
                    mine[k] += v
            for k, v in d.regions.items():
                out.regions[k] += v
            for k3, v in d.relabels.items():
                out.relabels[k3] = out.relabels.get(k3, 0) + v
        out.any_rows = any(d.any_rows for d in parts)
        out.touched = pa.concat_arrays([d.touched for d in parts])  # each task in one part
        out.rows = lambda: [t for rows in _on_threads([d.rows for d in parts]) for t in rows]
        return out


def count_true(arr: Any) -> int:
    """How many values of a boolean array are true (nulls are not)."""
    return int(pc.sum(pc.cast(pc.fill_null(arr, False), "int64")).as_py() or 0)


def numbered(t: "pa.Table") -> "pa.Table":
    return t.append_column("__i", pa.array(np.arange(t.num_rows)))


class _Registered:
    """Arrow tables registered in a DuckDB connection for the length of a ``with`` block."""

    def __init__(self, con: Any, tables: dict[str, Any]) -> None:
        self.con, self.tables = con, tables

    def __enter__(self) -> "_Registered":
        for name, t in self.tables.items():
            self.con.register(name, t)
        return self

    def __exit__(self, *exc: Any) -> None:
        for name in self.tables:
            self.con.unregister(name)


def touched(con: Any, spec: Spec, an: str, bn: str, prefix: str) -> "tuple[pa.Table, pa.Table] | None":
    """A's rows that differ, and B's rows of the tasks touched (None when nothing differs).

    B's table has ``__u``: the row differs; the rows that do not are each identical to a
    row of A, so that with A's rows that differ they tell what every touched answer holds
    on both sides. Both tables get a row number ``__i``.
    """
    keys = ["task_key", spec.answer_key, "region_key"]
    found = fetch(con, sql.differing(spec.table, an, bn, keys, list(spec.cols)))
    if found.num_rows == 0:
        return None
    in_b = pc.is_valid(found.column("__bh"))
    names = {"t": f"{prefix}_t", "u": f"{prefix}_u"}
    with _Registered(con, {names["t"]: pa.table({"task_key": pc.unique(found.column("__key"))}),
                           names["u"]: found.filter(in_b).select(["__key", "__bh"])}):
        bt = fetch(con, sql.b_rows_of_touched(spec, bn, names["t"], names["u"]))
    ua = found.filter(pc.invert(in_b)).select(keys + list(spec.cols))
    # both sides' rows of the touched tasks (B's rows that do not differ stand for A's) paired in
    # memory: keys that carry no meaning made equal (:func:`annover.diffing.ids.same_ids`)
    cols = keys + list(spec.cols)
    same = bt.filter(pc.invert(bt.column("__u"))).select(cols)
    return touched_in_memory(spec, pa.concat_tables([ua, same.cast(ua.schema)]), bt.select(cols))


@dataclass
class Parts:
    """Both sides' rows of the tasks whose stored task hashes differ, read a part (a range of
    task keys) at a time: by the diff's own connection while it runs (one read at a time:
    DuckDB reads on every core), by one of their own after (a part's rows asked for again)."""

    spec: Spec
    sources: "tuple[Source, Source]"
    prefix: str
    keys: "list[pa.Array]"  # each part's task keys, in key order when there are several
    whole: bool  # each part's range of keys read whole, not joined to its keys
    ranged: bool  # the parts are ranges of keys: each read only where its keys lie
    con: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def read(self, i: int) -> "tuple[pa.Table, pa.Table]":
        with self.lock:
            if self.con is not None:  # the sources are registered there already
                return self._read(self.con, [f"{self.prefix}_{x}" for x in "ab"], i)
        con = cursor(ordered=False)
        try:
            return self._read(con, [s.register(con, f"{self.prefix}_{x}") for s, x in zip(self.sources, "ab")], i)
        finally:
            con.close()

    def _read(self, con: Any, names: list[str], i: int) -> "tuple[pa.Table, pa.Table]":
        keys, tt = self.keys[i], f"{self.prefix}_tt{i}"
        within = (keys[0].as_py(), keys[-1].as_py()) if self.ranged else None
        with _Registered(con, {tt: pa.table({"task_key": keys})}):
            # one chunk a column at once (as the pairing reads them), so that DuckDB's result,
            # in many chunks, is let go before the next part is read
            return tuple(fetch(con, sql.rows_of_tasks(self.spec, side, None if self.whole else tt, within))
                         .combine_chunks() for side in names)  # type: ignore[return-value]


def touched_by_stored_hash(con: Any, spec: Spec, a: Source, b: Source, prefix: str) -> "Parts | None":
    """The tasks that differ, from the parts' stored task hashes (those whose hash the other
    side lacks, found from one row per task), in :class:`Parts` to read for
    :func:`annover.diffing.pairing.touched` to compare in memory: one part, or, from
    :data:`PARTITION_TASKS` tasks on, :data:`PARTS` or more of :data:`PART_ROWS` rows a side
    at most."""
    an, bn = a.register(con, f"{prefix}_a"), b.register(con, f"{prefix}_b")
    # each part's read opens every file again: their footers are read once (objects never change)
    con.execute("SET SESSION parquet_metadata_cache = true")
    found = fetch(con, sql.unmatched_hashes(an, bn))
    if found.num_rows == 0:
        return None
    tasks, n, whole = pc.unique(found.column("__key")), 1, False
    if len(tasks) >= PARTITION_TASKS:  # ranges of keys: each part's query reads only the files of its range
        tasks = tasks.take(pc.sort_indices(tasks))
        size = fetch(con, sql.hashed_tasks(an, bn)).to_pylist()[0]
        per_task = max(size["rows_a"] / max(size["a"], 1), size["rows_b"] / max(size["b"], 1))
        n = max(PARTS, math.ceil(len(tasks) * per_task / PART_ROWS))
        whole = len(tasks) >= WHOLE_RANGE_SHARE * max(size["a"], size["b"])
    cuts = [i * len(tasks) // n for i in range(n + 1)]
    keys = [tasks.slice(cuts[i], cuts[i + 1] - cuts[i]) for i in range(n)]
    return Parts(spec, (a, b), prefix, [k for k in keys if len(k)], whole, n > 1, con)


def touched_in_memory(spec: Spec, a: "pa.Table", b: "pa.Table") -> "tuple[pa.Table, pa.Table] | None":
    """:func:`touched` of two tables held in memory, without DuckDB; keys of the same result
    that carry no meaning made equal (:func:`annover.diffing.ids.same_ids`) in the tasks touched."""
    found = pairing.touched(spec, a, b)
    if found is not None:
        cols = pairing.row_keys(spec) + list(spec.cols)
        ua, bt = found[0].select(cols), found[1].select(cols)
        # the touched tasks' rows of both sides: B's rows that do not differ stand for A's
        same = bt.filter(pc.invert(found[1].column("__u"))).cast(ua.schema)
        sa, sb = same_ids(spec, pa.concat_tables([ua, same]), bt)
        if sb is not bt:  # some key changed: the tasks paired again
            found = pairing.touched(spec, sa, sb)
    return None if found is None else (numbered(found[0]), numbered(found[1]))


def count_answers(p: "pa.Table", out: TableDiff) -> None:
    """Answers added, removed, changed, skips and answers per annotator, from :func:`pairing.presence`."""
    in_a, in_b = pc.fill_null(p.column("in_a"), False), pc.fill_null(p.column("in_b"), False)
    both = pc.and_(in_a, in_b)
    out.added, out.removed = count_true(pc.and_not(in_b, in_a)), count_true(pc.and_not(in_a, in_b))
    out.changed = count_true(both)
    out.tasks = pairing.distinct_count(pairing.stored_codes(p, pairing.TASK))
    skip_a, skip_b = pc.and_(in_a, p.column("skip_a")), pc.and_(in_b, p.column("skip_b"))
    out.skips_added = count_true(pc.and_not(skip_b, skip_a))
    out.skips_removed = count_true(pc.and_not(skip_a, skip_b))
    # an answer changed by its own annotator counts as changed; one whose annotator changed
    # as removed for the one and added for the other
    who_a, who_b = p.column("who_a"), p.column("who_b")
    same = pc.or_(pc.fill_null(pc.equal(who_a, who_b), False), pc.and_(pc.is_null(who_a), pc.is_null(who_b)))
    kept = pc.and_(both, same)
    for what, who, mask in ((ADDED, who_b, pc.and_not(in_b, kept)), (REMOVED, who_a, pc.and_not(in_a, kept)),
                            (CHANGED, who_b, kept)):
        for vc in pc.value_counts(who.filter(mask)).to_pylist():
            name = vc["values"] if vc["values"] is not None else "-"
            out.per_annotator.setdefault(name, {ADDED: 0, REMOVED: 0, CHANGED: 0})[what] += vc["counts"]


def _count_key_regions(delta: "pa.Table", plain: "pa.Array", out: TableDiff) -> None:
    """Regions changed (paired by key), relabeled, added and removed (not left to matching)."""
    out.regions[CHANGED] = count_true(delta.column("__rc"))
    rl = delta.filter(delta.column("__rl")).select(["from_name_b", "__fa", "__fb"])
    for r in rl.group_by(["from_name_b", "__fa", "__fb"]).aggregate([([], "count_all")]).to_pylist():
        key3 = (r["from_name_b"] or "", r["__fa"], r["__fb"])
        out.relabels[key3] = out.relabels.get(key3, 0) + r["count_all"]
    region = pc.and_(plain, delta.column("__re"))
    out.regions[REMOVED] = count_true(pc.and_(pc.is_null(delta.column("__ib")), region))
    out.regions[ADDED] = count_true(pc.and_(pc.is_null(delta.column("__ia")), region))


def _regions(t: "pa.Table", idx: "pa.Array") -> list[Region | None]:
    """:class:`Region` of the rows of ``t`` at ``idx`` (None for a null index)."""
    d = t.select(["region_key", "from_name", "labels", "value", "__i", "region"]).take(idx).to_pydict()
    return [Region(*r) if r[0] is not None else None
            for r in zip(d["region_key"], d["from_name"], d["labels"], d["value"], d["__i"], d["region"])]


@dataclass
class Matched:
    """Rows of answers on both sides that pairing by key left over, after matching by shape."""

    pairs: list[tuple[tuple, Region, Region, str, "float | None"]] = field(default_factory=list)
    removed: list[tuple[tuple, Region]] = field(default_factory=list)
    added: list[tuple[tuple, Region]] = field(default_factory=list)
    #: pairs by control found a column at a time (``__ia``, ``__ib``; see :func:`_by_control`)
    by_control: "pa.Table | None" = None


def _coded_both(ua: "pa.Table", bt: "pa.Table", name: str) -> "tuple[np.ndarray, np.ndarray, pa.Array]":
    """(code of each row of ``ua``, of ``bt``, the values): column ``name`` of both tables
    dictionary-encoded at once (nulls a value of their own)."""
    x, y = K.column(ua, name), K.column(bt, name)
    codes, values = pairing.encoded(pa.chunked_array([x, y if y.type == x.type else y.cast(x.type)], x.type))
    return codes[:len(x)], codes[len(x):], values


def _control_codes(controls: "tuple[np.ndarray, np.ndarray, pa.Array]", ia: "np.ndarray", ib: "np.ndarray",
                   answer: "np.ndarray") -> "np.ndarray":
    """One integer per (answer, control) of each leftover row (at ``ia`` / ``ib``; ``answer``:
    its answer, a small integer as :func:`pairing.delta`'s ``__pa``): the answer, then the
    control (``controls``: :func:`_coded_both` of ``from_name``)."""
    ca, cb, names = controls
    on_a = ia >= 0
    ctl = np.empty(len(ia), np.int64)
    ctl[on_a], ctl[~on_a] = ca[ia[on_a]], cb[ib[~on_a]]
    return answer.astype(np.int64) * max(len(names), 1) + ctl


def _may_be_shape(v: "pa.Array") -> "pa.Array":
    """Whether each value may be a shape (:data:`MAY_BE_SHAPE`); values that repeat (a
    classification's) are matched once each, through a dictionary."""
    if K.repeats(v):
        enc = pc.dictionary_encode(v)
        return pc.match_substring_regex(enc.dictionary, MAY_BE_SHAPE.pattern).take(enc.indices)
    return pc.match_substring_regex(v, MAY_BE_SHAPE.pattern)


#: group codes up to this many times the rows are counted in an array of that size, not sorted
_DENSE = 4


def _one_each(g: "np.ndarray", on_a: "np.ndarray", shape: "np.ndarray") -> "tuple[np.ndarray, np.ndarray]":
    """(first, last) row of each group of ``g`` that has two rows, one on each side (``on_a``),
    neither of them a possible shape, by ascending group: counted in an array when the codes
    are small (:func:`_control_codes`' are), else a sort, not a hash."""
    if len(g) and 0 <= g.min() and g.max() < _DENSE * len(g) + 1024:
        rows = np.arange(len(g))
        first, last = np.full(int(g.max()) + 1, len(g), np.int64), np.full(int(g.max()) + 1, -1, np.int64)
        np.minimum.at(first, g, rows)
        np.maximum.at(last, g, rows)
        two = np.flatnonzero(np.bincount(g) == 2)
        first, last = first[two], last[two]
        ok = (on_a[first] != on_a[last]) & ~shape[first] & ~shape[last]
        return first[ok], last[ok]
    order = np.argsort(g, kind="stable")
    gs = g[order]
    starts = np.flatnonzero(np.concatenate(([True], gs[1:] != gs[:-1]))) if len(gs) else np.zeros(0, np.int64)
    ends = np.append(starts[1:], len(gs))
    two = starts[(ends - starts) == 2]
    first, last = order[two], order[two + 1]  # stable: the first row of the group first
    ok = (on_a[first] != on_a[last]) & ~shape[first] & ~shape[last]
    return first[ok], last[ok]


def _by_control(ua: "pa.Table", bt: "pa.Table", mrows: "pa.Table", out: TableDiff
                ) -> "tuple[pa.Table | None, pa.Table]":
    """(pairs of leftover rows that :func:`match_regions` pairs by control, the rows left to it):
    one row on each side of a control in an answer, neither value a possible shape (a relabel
    of a classification), found and counted a column at a time."""
    ia, ib = pairing.at_sides(mrows)
    on_a = ia >= 0
    region = np.flatnonzero(K.np_bool(mrows.column("__re")))
    shape = pairing.from_sides(ua, bt, ia, ib, pairing.taken("value", _may_be_shape))
    answer = mrows.column("__pa").to_numpy(zero_copy_only=False)
    controls = _coded_both(ua, bt, "from_name")
    first, last = _one_each(_control_codes(controls, ia, ib, answer)[region], on_a[region], shape[region])
    if not len(first):
        return None, mrows
    first, last = region[first], region[last]
    at_a, at_b = pa.array(np.where(on_a[first], first, last)), pa.array(np.where(on_a[first], last, first))
    pairs = pa.table({"__ia": mrows.column("__ia").take(at_a), "__ib": mrows.column("__ib").take(at_b)})
    out.regions[CHANGED] += pairs.num_rows
    pia, pib = pairing.at_sides(pairs)
    if not _count_single_relabels(ua, bt, pia, pib, controls, out):
        _count_relabels(ua.column("labels").take(pairs.column("__ia")), bt.column("labels").take(pairs.column("__ib")),
                        bt.column("from_name").take(pairs.column("__ib")), out)
    used = np.zeros(mrows.num_rows, dtype=bool)
    used[first], used[last] = True, True
    return pairs, mrows.filter(pa.array(~used))


def _single_labels(ua: "pa.Table", bt: "pa.Table") -> "tuple[np.ndarray, np.ndarray, pa.Array] | None":
    """(code of each row's labels in ``ua``, in ``bt`` (-1 for none), the labels) when no
    row holds more than one label or a null one (a classification's): a dictionary of the
    labels, not a text of each list; None otherwise."""
    x, y = K.column(ua, "labels"), K.column(bt, "labels")
    nx, ny = K.lengths(x), K.lengths(y)
    if (nx > 1).any() or (ny > 1).any():
        return None
    fx, fy = pc.list_flatten(x), pc.list_flatten(y)
    if fx.null_count or fy.null_count:
        return None
    cx, cy, labels = _coded_both(pa.table({"v": fx}), pa.table({"v": fy}), "v")
    out = []
    for n, c in ((nx, cx), (ny, cy)):  # the k-th label is that of the k-th row holding one
        code = np.full(len(n), -1, np.int64)
        code[n == 1] = c
        out.append(code)
    return out[0], out[1], labels


def _count_single_relabels(ua: "pa.Table", bt: "pa.Table", ia: "np.ndarray", ib: "np.ndarray",
                           controls: "tuple[np.ndarray, np.ndarray, pa.Array]", out: TableDiff) -> bool:
    """:func:`_count_relabels` of the pairs at ``ia`` / ``ib`` as integers, when every row
    holds one label at most (:func:`_single_labels`): False when some row holds more."""
    coded = _single_labels(ua, bt)
    if coded is None:
        return False
    la, lb = coded[0][ia], coded[1][ib]
    differ = la != lb
    names, labels = controls[2].to_pylist(), [NO_LABEL] + coded[2].to_pylist()
    n = len(labels)
    key = (controls[1][ib[differ]] * n + la[differ] + 1) * n + lb[differ] + 1
    counts = np.bincount(key) if len(key) and key.max() < 1 << 24 else None  # few controls and labels
    found = (np.flatnonzero(counts), counts[counts > 0]) if counts is not None else np.unique(key, return_counts=True)
    for k, count in zip(*found):
        fn, rest = divmod(int(k), n * n)
        key3 = (names[fn] or "", labels[rest // n], labels[rest % n])
        out.relabels[key3] = out.relabels.get(key3, 0) + int(count)
    return True


def _count_relabels(la: "pa.ChunkedArray", lb: "pa.ChunkedArray", fn: "pa.ChunkedArray", out: TableDiff) -> None:
    """Count the pairs whose labels differ (``(a or None) != (b or None)`` of the lists) as
    relabels (control, labels before, labels after), a column at a time."""
    la, lb, fn = (C1(x) for x in (la, lb, fn))
    na, nb = K.lengths(la), K.lengths(lb)
    differ = K.labels_differ(la, lb, na, nb)
    if not differ.any():
        return
    sel = pa.array(np.flatnonzero(differ))
    t = pa.table({"fn": pc.fill_null(fn.take(sel), ""), "fa": K.fmt_labels(la.take(sel), na[differ]),
                  "fb": K.fmt_labels(lb.take(sel), nb[differ])})
    for r in t.group_by(["fn", "fa", "fb"], use_threads=False).aggregate([([], "count_all")]).to_pylist():
        key3 = (r["fn"], r["fa"], r["fb"])
        out.relabels[key3] = out.relabels.get(key3, 0) + r["count_all"]


def _match(spec: Spec, ua: "pa.Table", bt: "pa.Table", mrows: "pa.Table", opts: Options, renames: dict[str, str],
           out: TableDiff) -> Matched:
    """Match the leftover rows of each answer by shape, and count what that makes."""
    m = Matched()
    if not renames and mrows.num_rows:
        m.by_control, mrows = _by_control(ua, bt, mrows, out)
    left: dict[tuple, tuple[list[Region], list[Region]]] = {}
    mkeys = pairing.keys_of(spec, ua, bt, mrows)
    for k1, k2, ra, rb in zip(mkeys.column("task_key").to_pylist(), mkeys.column("answer_key").to_pylist(),
                              _regions(ua, mrows.column("__ia")), _regions(bt, mrows.column("__ib"))):
        slot = left.setdefault((k1, k2), ([], []))
        (slot[0] if ra is not None else slot[1]).append(ra if ra is not None else rb)
    for k, (rem, add) in left.items():
        pairs, rest_a, rest_b = match_regions([r for r in rem if r.region_key != ""],
                                              [r for r in add if r.region_key != ""], opts, renames)
        out.regions[CHANGED] += len(pairs)  # a pair matched by shape is a changed region
        out.regions[REMOVED] += len(rest_a)
        out.regions[ADDED] += len(rest_b)
        for ra, rb, _, _ in pairs:
            if not K.same_labels(ra.labels, rb.labels):
                key3 = (rb.from_name or "", fmt_labels(ra.labels), fmt_labels(rb.labels))
                out.relabels[key3] = out.relabels.get(key3, 0) + 1
        m.pairs += [(k, *p) for p in pairs]
        m.removed += [(k, r) for r in [r for r in rem if r.region_key == ""] + rest_a]
        m.added += [(k, r) for r in [r for r in add if r.region_key == ""] + rest_b]
    return m


def _keys(ks: list[tuple]) -> "pa.Table":
    return pa.table({"task_key": pa.array([k[0] for k in ks], pa.string()),
                     "answer_key": pa.array([k[1] for k in ks], pa.string())})


def _rows_of(spec: Spec, ua: "pa.Table", bt: "pa.Table", delta: "pa.Table", plain: "pa.Array",
             m: Matched) -> list["pa.Table"]:
    """The row tables of one answers diff: pairs by key and by shape, rows added and removed
    (each side's worded columns taken once for each)."""
    rest, bc = delta.filter(plain), m.by_control
    keys = pairing.keys_of(spec, ua, bt, rest)
    bc_keys = None if bc is None else pairing.keys_of(spec, ua, bt, bc)
    ua, bt = (t.select(["region_key", *spec.cols]) for t in (ua, bt))
    ia, ib = rest.column("__ia"), rest.column("__ib")
    in_a, in_b = pc.is_valid(ia), pc.is_valid(ib)
    pair = pc.and_(in_a, in_b)
    take = lambda t, rs: t.take(pa.array([r.index for r in rs], pa.int64()))  # noqa: E731
    pa_, pb_ = [p[1] for p in m.pairs], [p[2] for p in m.pairs]
    by_control = [] if bc is None or bc_keys is None else [segment(
        spec, CHANGED, bc_keys, ua.take(bc.column("__ia")), bt.take(bc.column("__ib")),
        pa.array([BY_CONTROL] * bc.num_rows, pa.string()), pa.nulls(bc.num_rows, pa.float64()))]
    return [
        *by_control,
        segment(spec, CHANGED, keys.filter(pair), ua.take(ia.filter(pair)), bt.take(ib.filter(pair))),
        segment(spec, CHANGED, _keys([p[0] for p in m.pairs]), take(ua, pa_), take(bt, pb_),
                pa.array([p[3] for p in m.pairs], pa.string()), pa.array([p[4] for p in m.pairs], pa.float64())),
        segment(spec, REMOVED, pa.concat_tables([keys.filter(pc.invert(in_b)), _keys([r[0] for r in m.removed])]),
                pa.concat_tables([ua.take(ia.filter(pc.invert(in_b))), take(ua, [r[1] for r in m.removed])]), None),
        segment(spec, ADDED, pa.concat_tables([keys.filter(pc.invert(in_a)), _keys([r[0] for r in m.added])]),
                None, pa.concat_tables([bt.take(ib.filter(pc.invert(in_a))), take(bt, [r[1] for r in m.added])])),
    ]


def _diff_found(spec: Spec, found: "tuple[pa.Table, pa.Table] | None", opts: Options, renames: dict[str, str]
                ) -> TableDiff:
    """The diff of the rows :func:`touched` found, with region matching; rows on demand."""
    out = TableDiff()
    if found is None:
        return out
    ua, bt = pairing.coded(spec, found)  # coded already when paired in memory
    out.touched = pairing.task_keys([ua, bt])
    pr = pairing.presence(spec, ua, bt)
    delta = pairing.delta(spec, ua, bt, pr)
    if delta.num_rows == 0:
        return out
    count_answers(pr.table, out)
    plain = pc.invert(pc.fill_null(delta.column("__m"), False))
    _count_key_regions(delta, plain, out)
    left = K.np_bool(delta.column("__m"))  # rows left to matching: every row when every label changed
    matched = _match(spec, ua, bt, delta if left.all() else delta.filter(pa.array(left)), opts, renames, out)
    out.any_rows, out.rows = True, lambda: _rows_of(spec, ua, bt, delta, plain, matched)
    return out


def _on_threads(calls: "list[Callable[[], Any]]") -> list[Any]:
    """Each call's result, the calls on :data:`READERS` threads when there are several."""
    if len(calls) <= 1:
        return [c() for c in calls]
    with ThreadPoolExecutor(max_workers=min(len(calls), READERS), thread_name_prefix="annover-diff") as ex:
        return list(ex.map(lambda c: c(), calls))


def _diff_parts(parts: Parts, opts: Options, renames: dict[str, str]) -> TableDiff:
    """The diff of the tasks :class:`Parts` holds, a part at a time on threads (Arrow and
    numpy release the GIL; DuckDB reads one part while another is paired). A part keeps its
    rows for the row table while the parts kept hold :data:`KEEP_ROWS` rows at most (none
    without ``opts.keep_rows``); the others read theirs again when the row table is asked for,
    so that a diff of many rows holds a few parts at once."""
    kept, budget = [0], KEEP_ROWS if opts.keep_rows else 0

    def diffed(i: int) -> "tuple[TableDiff, int]":
        found = touched_in_memory(parts.spec, *parts.read(i))
        return _diff_found(parts.spec, found, opts, renames), 0 if found is None else sum(t.num_rows for t in found)

    def part(i: int) -> TableDiff:
        d, rows = diffed(i)
        with parts.lock:
            keep = kept[0] + rows <= budget
            kept[0] += rows if keep else 0
        if not keep:
            d.rows = lambda: diffed(i)[0].rows()
        return d
    try:
        return TableDiff.of_parts(_on_threads([lambda i=i: part(i) for i in range(len(parts.keys))]))
    finally:
        with parts.lock:
            parts.con = None  # the diff's connection closes with it


def diff_answers(con: Any, spec: Spec, a: Source, b: Source, opts: Options, renames: dict[str, str],
                 prefix: str) -> TableDiff:
    """Diff of two annotations (or predictions) tables, with region matching; rows on demand:
    from stored task hashes (in parts when many tasks differ), in memory, or by DuckDB's join."""
    if a.hashed and b.hashed:
        parts = touched_by_stored_hash(con, spec, a, b, prefix)
        return TableDiff() if parts is None else _diff_parts(parts, opts, renames)
    ta, tb = a.in_memory(), b.in_memory()
    if ta is not None and tb is not None:
        return _diff_found(spec, touched_in_memory(spec, ta, tb), opts, renames)
    return _diff_found(spec, touched(con, spec, a.register(con, f"{prefix}_a"), b.register(con, f"{prefix}_b"),
                                     prefix), opts, renames)


def _keys_found(spec: Spec, found: "tuple[pa.Table, pa.Table] | None") -> "pa.Array":
    """The keys of the tasks of :func:`touched`'s rows, as :func:`_diff_found` gives them."""
    return pa.array([], pa.string()) if found is None else pairing.task_keys(pairing.coded(spec, found))


def tasks_touched(con: Any, spec: Spec, a: Source, b: Source, prefix: str) -> "pa.Array":
    """:attr:`TableDiff.touched` of :func:`diff_answers` (the same keys, in the same order) and
    nothing else: the rows that differ are found as there, neither counted nor matched by shape."""
    if a.hashed and b.hashed:
        parts = touched_by_stored_hash(con, spec, a, b, prefix)
        if parts is None:
            return pa.array([], pa.string())
        try:
            return pa.concat_arrays(_on_threads([lambda i=i: _keys_found(spec, touched_in_memory(spec, *parts.read(i)))
                                                 for i in range(len(parts.keys))]))
        finally:
            with parts.lock:
                parts.con = None  # the diff's connection closes with it
    ta, tb = a.in_memory(), b.in_memory()
    if ta is not None and tb is not None:
        return _keys_found(spec, touched_in_memory(spec, ta, tb))
    return _keys_found(spec, touched(con, spec, a.register(con, f"{prefix}_a"), b.register(con, f"{prefix}_b"),
                                     prefix))
