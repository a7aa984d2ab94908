"""A version's tables rendered in the formats people train with. Pure: tables in, bytes out."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from annover._lazy import lazy
from annover.errors import UsageError
from annover.formats import EXPORT_FORMATS, Format
from annover.formats.json_min import json_min_records
from annover.formats.label_studio import to_tasks
from annover.formats.ls_columns import task_texts
from annover.formats.min_columns import concat, jsonl_lines, min_records
from annover.model import canonical as C
from annover.store.snapshots import part_bytes

if TYPE_CHECKING:
    import numpy as np
    import orjson
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv
else:
    np = lazy("numpy")
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")
    pcsv = lazy("pyarrow.csv")
    orjson = lazy("orjson")

__all__ = ["csv", "json_min", "jsonl", "label_studio", "parquet", "render", "render_chunks"]

#: Tasks (Label Studio JSON, JSON-MIN) or rows (JSONL, CSV) turned into Python objects at a
#: time: an export of ten million rows is written in pieces, never whole in memory.
BATCH = 20_000
#: Tasks a batch of Label Studio JSON (and JSON-MIN) holds, as Python objects and then as text at
#: once; 2,000 tasks keep that near 18 MB (20,000 made a 1M-row export peak at 4.5x the tables,
#: 2,000 at 2.8x; as fast).
TASK_BATCH = 2_000

#: Told how many items are rendered so far (see :func:`render_chunks`).
Done = Callable[[int], None]
#: Columns holding JSON text, written as JSON values in JSONL.
JSON_COLUMNS = ("data", "value", "region", "extra")
#: Columns holding JSON text that an export parses (:data:`JSON_COLUMNS`, and the task's place
#: in the export it came from).
JSON_TEXT = frozenset(JSON_COLUMNS) | {"ls_original"}
#: Formats that write one table (the others write tasks with their answers).
TABLE_FORMATS = (Format.JSONL, Format.CSV, Format.PARQUET)


def _json_item(item: object) -> bytes:
    """``json.dumps(item, ensure_ascii=False, separators=(",", ":"))`` as UTF-8, by orjson (the
    standard library's encoder where orjson refuses a value: an integer beyond 64 bits)."""
    try:
        return orjson.dumps(item)
    except orjson.JSONEncodeError:
        return _json_item_std(item)


def _json_item_std(item: object) -> bytes:
    return json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_encoder(tables: "Iterable[pa.Table]") -> "Callable[[object], bytes]":
    """:func:`_json_item`, unless the tables may hold a NaN or an infinity (a float column that
    does, or a JSON text column holding the word ``NaN`` or ``Infinity``, which Python's json
    reads as one): orjson writes those as null, the standard library as Python's json reads
    them back, so such an export is written by the standard library (slower, the same values)."""
    for t in tables:
        for name, col in zip(t.column_names, t.columns):
            if pa.types.is_floating(col.type) and (pc.any(pc.is_nan(col)).as_py() or pc.any(pc.is_inf(col)).as_py()):
                return _json_item_std
            if name in JSON_TEXT and pa.types.is_string(col.type) and any(
                    pc.any(pc.match_substring(col, word)).as_py() for word in ("NaN", "Infinity")):
                return _json_item_std
    return _json_item


def _json_array(batches: Iterator[list[bytes]]) -> Iterator[bytes]:
    """A JSON array of the batches' items (each one's JSON text), one item a line (compact within
    it, as Label Studio's own export writes tasks): ``[``, the items joined by ``,`` and newlines, ``]``."""
    first = True
    for items in batches:
        if not items:
            continue
        yield (b"[\n" if first else b",\n") + b",\n".join(items)
        first = False
    yield b"[]\n" if first else b"\n]\n"


def _runs(t: "pa.Table") -> "tuple[pa.Array, np.ndarray, np.ndarray, np.ndarray]":
    """(task keys, first row, row count, order) of each task's rows in ``t`` (ordered by task key,
    stably, through ``order``: the row indices in that order). The first rows and counts have
    one more entry, a 0, for the run -1 of :func:`_run_of` (a task with no rows): appended once
    here, not by each batch (a copy of every task's entry a batch made the export quadratic)."""
    keys = C.single_chunk(t.column("task_key"))
    n = len(keys)
    in_order = n < 2 or pc.all(pc.less_equal(keys.slice(0, n - 1), keys.slice(1))).as_py()
    order = np.arange(n, dtype=np.int64) if in_order else pc.sort_indices(keys).to_numpy()  # Arrow's sort is stable
    k = keys if in_order else keys.take(pa.array(order))
    if len(k) == 0:
        return k, np.zeros(1, np.int64), np.zeros(1, np.int64), order
    first = np.ones(len(k), dtype=bool)
    first[1:] = pc.not_equal(k.slice(1), k.slice(0, len(k) - 1)).to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, len(k)))
    return k.filter(pa.array(first)), np.append(starts, 0), np.append(counts, 0), order


def _run_of(runs: tuple, task_keys: "pa.Array") -> "np.ndarray":
    """The run (:func:`_runs`) of each of ``task_keys``, -1 for a task with no rows."""
    return pc.fill_null(pc.index_in(task_keys, value_set=runs[0]), -1).to_numpy(zero_copy_only=False)


def _take_rows(t: "pa.Table", runs: tuple, at: "np.ndarray") -> "tuple[pa.Table, np.ndarray]":
    """The rows of ``t`` of the tasks whose runs are ``at`` (:func:`_run_of`), each task's rows
    together, in ``t``'s order; and how many rows each task has (0 for a task with none)."""
    _, starts, counts, order = runs
    n = counts[at]  # a run of -1 is the 0 appended
    first = starts[at]
    offsets = np.repeat(first - np.cumsum(np.append(0, n[:-1])).astype(np.int64), n) + np.arange(n.sum())
    return _take(t, order[offsets]), n


def _take(t: "pa.Table", rows: "np.ndarray") -> "pa.Table":
    """``t.take(rows)``, from the slice of ``t`` the rows span (a slice where they are one run):
    a take from a table of many chunks costs the chunks it spans, every batch."""
    if not len(rows):
        return t.slice(0, 0)
    lo, hi = int(rows.min()), int(rows.max()) + 1
    if hi - lo == len(rows) and (len(rows) < 2 or bool(np.all(np.diff(rows) == 1))):
        return t.slice(lo, hi - lo)
    return t.slice(lo, hi - lo).take(pa.array(rows - lo, pa.int64()))


def _subset(t: "pa.Table", counts: "np.ndarray", tasks: list[int]) -> "pa.Table":
    """The rows of the ``tasks`` (indices) of a table of rows that holds ``counts`` rows a task."""
    ends = np.cumsum(counts)
    at = np.asarray(tasks, dtype=np.int64)
    n = counts[at]
    offsets = np.repeat(ends[at] - n - np.cumsum(np.append(0, n[:-1])).astype(np.int64), n) + np.arange(n.sum())
    return t.take(pa.array(offsets, pa.int64()))


#: One batch of tasks as tables: the tasks, their annotation rows and how many a task, their
#: prediction rows and how many a task (see :func:`table_batches`).
Batch = tuple


def table_batches(tables: dict[str, "pa.Table"], size: int | None = None, done: "Done | None" = None
                  ) -> Iterator[Batch]:
    """(tasks, annotation rows, rows a task, prediction rows, rows a task) a batch of tasks at a
    time, the tasks in the order :func:`~annover.formats.label_studio.to_tasks` writes them
    (their position in the input export, then task key), so that the batches' tasks concatenated
    are exactly ``to_tasks`` of everything. ``done``: told the tasks rendered so far, after each batch."""
    tasks = tables["tasks"]
    pos = [(_position(o), i) for i, o in enumerate(tasks.column("ls_original").to_pylist())] \
        if "ls_original" in tasks.column_names else [(0, i) for i in range(tasks.num_rows)]
    order = np.array([i for _, i in sorted(pos)], dtype=np.int64)
    ann, pred = _runs(tables["annotations"]), _runs(tables["predictions"])
    keys = C.single_chunk(tasks.column("task_key")).take(pa.array(order))
    ann_at, pred_at = _run_of(ann, keys), _run_of(pred, keys)  # one lookup for every batch
    size = size or TASK_BATCH
    for a in range(0, len(order), size):
        batch = _take(tasks, order[a:a + size])
        yield (batch, *_take_rows(tables["annotations"], ann, ann_at[a:a + size]),
               *_take_rows(tables["predictions"], pred, pred_at[a:a + size]))
        if done is not None:
            done(a + batch.num_rows)


def task_batches(tables: dict[str, "pa.Table"], size: int | None = None, done: "Done | None" = None
                 ) -> Iterator[tuple[list, list, list]]:
    """:func:`table_batches` as rows: (task rows, their annotation rows, their prediction rows)."""
    for tasks, anns, _, preds, _ in table_batches(tables, size, done):
        yield tasks.to_pylist(), anns.to_pylist(), preds.to_pylist()


def _position(original: str | None) -> int:
    """A task's position in the export it was read from (after all that have one when none)."""
    if not original:
        return 2**62
    i = json.loads(original).get("i", 2**62)
    return i if isinstance(i, int) else 2**62


def label_studio_chunks(tables: dict[str, "pa.Table"], done: "Done | None" = None) -> Iterator[bytes]:
    """Label Studio JSON: tasks with their annotations and predictions, to import again."""
    encode = json_encoder(tables.values())
    return _json_array(_task_texts(b, encode) for b in table_batches(tables, done=done))


def _task_texts(batch: Batch, encode: "Callable[[object], bytes]") -> list[bytes]:
    """The JSON text of each task of a batch: written column-wise (:mod:`annover.formats.ls_columns`)
    where that gives the bytes ``to_tasks`` and orjson give, the rest through ``to_tasks``."""
    tasks, anns, ann_n, preds, pred_n = batch
    texts = task_texts(tasks, anns, ann_n, preds, pred_n, encode) if encode is _json_item else [None] * tasks.num_rows
    slow = [i for i, x in enumerate(texts) if x is None]
    if slow:
        rows = to_tasks(tasks.take(pa.array(slow, pa.int64())).to_pylist(), _subset(anns, ann_n, slow).to_pylist(),
                        _subset(preds, pred_n, slow).to_pylist())
        for i, task in zip(slow, rows):
            texts[i] = encode(task)
    return texts


def json_min_chunks(tables: dict[str, "pa.Table"], done: "Done | None" = None) -> Iterator[bytes]:
    """Label Studio's JSON-MIN: one object per (non-skipped) annotation, controls as keys. The
    records are written column-wise (:mod:`annover.formats.min_columns`) where that gives the
    bytes :func:`json_min_general_chunks` gives, task by task; the other tasks as it writes them."""
    encode = json_encoder([tables["tasks"], tables["annotations"]])
    return _json_array(_min_texts(b, encode) for b in table_batches(tables, done=done))


def _min_texts(batch: Batch, encode: "Callable[[object], bytes]") -> list[bytes]:
    """The JSON-MIN records of a batch of tasks (the column-wise ones joined in one text)."""
    tasks, anns, ann_n, _, _ = batch
    got = _column_wise(min_records, tasks, anns, ann_n) if encode is _json_item else None
    if got is None:
        return [encode(r) for r in json_min_records(to_tasks(tasks.to_pylist(), anns.to_pylist(), []))]
    texts, owner, ok = got
    if ok.all():
        return [concat(texts, ",\n")] if len(texts) else []
    slow = np.flatnonzero(~ok).tolist()
    rows = to_tasks(tasks.take(pa.array(slow, pa.int64())).to_pylist(), _subset(anns, ann_n, slow).to_pylist(), [])
    general = {i: [encode(r) for r in json_min_records([task])] for i, task in zip(slow, rows)}
    fast = texts.cast(pa.binary()).to_pylist()
    ends = np.searchsorted(owner, np.arange(tasks.num_rows + 1)).tolist()
    out: list[bytes] = []
    for i in range(tasks.num_rows):
        out += general[i] if i in general else fast[ends[i]:ends[i + 1]]
    return out


def _column_wise(f: Callable, *args: object) -> object:
    """``f(*args)``, or None (the general writer's) where Arrow cannot hold the batch's texts in
    one array (more than 2 GB of them: 20,000 rows of 100 KB documents)."""
    try:
        return f(*args)
    except (pa.ArrowCapacityError, pa.ArrowInvalid):
        return None


def json_min_general_chunks(tables: dict[str, "pa.Table"], done: "Done | None" = None) -> Iterator[bytes]:
    """JSON-MIN as Python objects: ``to_tasks`` a batch, its records, each by the version's encoder
    (the reference :func:`json_min_chunks` gives the bytes of)."""
    encode = json_encoder([tables["tasks"], tables["annotations"]])
    return _json_array([encode(r) for r in json_min_records(to_tasks(t, a, []))]
                       for t, a, _ in task_batches(tables, done=done))


def jsonl_chunks(t: "pa.Table", done: "Done | None" = None) -> Iterator[bytes]:
    """One JSON object per row, compact; JSON columns (data, value, region, extra) embedded as
    objects. Written column-wise (:mod:`annover.formats.min_columns`) where that gives the bytes
    :func:`jsonl_general_chunks` gives, row by row; the other rows as it writes them."""
    encode = json_encoder([t])
    for a in range(0, t.num_rows, BATCH):
        part = t.slice(a, BATCH)
        got = _column_wise(jsonl_lines, part) if encode is _json_item else None
        if got is None:
            yield b"".join(_jsonl_line(r, encode) for r in part.to_pylist())
        elif got[1].all():
            yield concat(got[0])
        else:
            lines, slow = got[0].cast(pa.binary()).to_pylist(), np.flatnonzero(~got[1])
            for i, r in zip(slow.tolist(), part.take(pa.array(slow, pa.int64())).to_pylist()):
                lines[i] = _jsonl_line(r, encode)
            yield b"".join(lines)
        if done is not None:
            done(min(a + BATCH, t.num_rows))


def _jsonl_line(r: dict, encode: "Callable[[object], bytes]") -> bytes:
    for k in JSON_COLUMNS:
        if isinstance(r.get(k), str):
            r[k] = json.loads(r[k])  # not orjson: it reads an integer beyond 64 bits as a float
    return encode(r) + b"\n"


def jsonl_general_chunks(t: "pa.Table", done: "Done | None" = None) -> Iterator[bytes]:
    """JSONL as Python objects, row by row (the reference :func:`jsonl_chunks` gives the bytes of)."""
    encode = json_encoder([t])
    for a in range(0, t.num_rows, BATCH):
        yield b"".join(_jsonl_line(r, encode) for r in t.slice(a, BATCH).to_pylist())
        if done is not None:
            done(min(a + BATCH, t.num_rows))


def csv_chunks(t: "pa.Table", done: "Done | None" = None) -> Iterator[bytes]:
    """Flat CSV: lists joined with '|', JSON columns as JSON text (a header, then rows in batches)."""
    cols = [pc.binary_join(c, "|") if pa.types.is_list(c.type) else c for c in t.columns]
    flat = pa.table(cols, names=t.column_names)
    for a in range(0, max(flat.num_rows, 1), BATCH * 10):
        sink = pa.BufferOutputStream()
        pcsv.write_csv(flat.slice(a, BATCH * 10), sink, pcsv.WriteOptions(include_header=a == 0))
        yield sink.getvalue().to_pybytes()
        if done is not None:
            done(min(a + BATCH * 10, flat.num_rows))


def render_chunks(fmt: str, tables: dict[str, "pa.Table"], cfg_text: str | None = None,
                  table: str = "annotations", done: "Done | None" = None) -> Iterator[bytes]:
    """``tables`` as ``fmt`` (one of :data:`EXPORT_FORMATS`), in pieces to write one after
    another; the one-table formats write ``table``. ``done``: told the items (tasks; rows of
    the one-table formats) rendered so far, as the pieces are."""
    if fmt == Format.LABEL_STUDIO:
        return label_studio_chunks(tables, done)
    if fmt == Format.JSON_MIN:
        return json_min_chunks(tables, done)
    if fmt == Format.JSONL:
        return jsonl_chunks(tables[table], done)
    if fmt == Format.CSV:
        return csv_chunks(tables[table], done)
    if fmt == Format.PARQUET:
        return iter([part_bytes(tables[table])])
    raise UsageError(f"unknown export format {fmt!r}", f"use one of {', '.join(EXPORT_FORMATS)}")


def render(fmt: str, tables: dict[str, "pa.Table"], cfg_text: str | None = None, table: str = "annotations") -> bytes:
    """``tables`` as ``fmt``, whole (see :func:`render_chunks`)."""
    return b"".join(render_chunks(fmt, tables, cfg_text, table))


def label_studio(tables: dict[str, "pa.Table"]) -> bytes:
    return render(Format.LABEL_STUDIO, tables)


def json_min(tables: dict[str, "pa.Table"], cfg_text: str | None = None) -> bytes:
    return render(Format.JSON_MIN, tables)


def jsonl(t: "pa.Table") -> bytes:
    return b"".join(jsonl_chunks(t))


def csv(t: "pa.Table") -> bytes:
    return b"".join(csv_chunks(t))


def parquet(t: "pa.Table") -> bytes:
    """Parquet written as annover writes its parts (``annover snapshot`` reads it back)."""
    return part_bytes(t)
