"""Flat ``(task key, label)`` rows (CSV / TSV / JSONL / Parquet) -> canonical tables.

Vectorised for large inputs: a row becomes an annotation region through Arrow kernels and
a few dictionary takes, never a Python loop over rows. Columns: the task key (``task_key``,
or the one ``--key data.COL`` names), ``label`` (or a list-typed ``labels``), optional
``annotator`` and ``from_name``; other columns become task data. Several rows of one
(task, annotator, control) become one region with all their labels.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from annover._lazy import lazy
from annover.errors import shown
from annover.formats import Format
from annover.formats.tables import Tables, empty, finish, task_data_for_keys
from annover.formats.text import fail, not_utf8_at
from annover.formats.validate import check_label_column, controls_of
from annover.model import canonical as C
from annover.model.config import Control, LabelingConfig
from annover.store import duck

if TYPE_CHECKING:
    import concurrent.futures as futures

    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv
    import pyarrow.json as pj

    from annover.formats import hf
else:
    hf = lazy("annover.formats.hf")  # only for a Parquet file with a dataset's metadata (it imports yolo, conll)
    futures = lazy("concurrent.futures")  # its import pulls in logging: only when a large file is read
    np = lazy("numpy")
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")
    pcsv = lazy("pyarrow.csv")
    pj = lazy("pyarrow.json")

__all__ = ["KNOWN_COLUMNS", "from_flat", "read_csv", "read_jsonl_rows", "read_jsonl_table"]

#: Columns with a meaning; any other column is task data.
KNOWN_COLUMNS = frozenset({"task_key", "label", "labels", "annotator", "from_name", "to_name"})


# ---------------------------------------------------------------------------
# reading files into one Arrow table


def read_csv(path: Path) -> "pa.Table":
    """A CSV (``.tsv``: tab-separated) file as an Arrow table; keys and labels stay strings."""
    delim = "\t" if path.suffix.lower() == ".tsv" else ","
    convert = pcsv.ConvertOptions(strings_can_be_null=False, column_types={"task_key": pa.string(), "label": pa.string()})
    try:
        try:
            table = pcsv.read_csv(path, parse_options=pcsv.ParseOptions(delimiter=delim), convert_options=convert)
        except pa.ArrowInvalid:
            # a quoted cell holding a line break splits Arrow's parallel blocks mid-row: read
            # again with newlines in values allowed (slower), which also gives the real error
            table = pcsv.read_csv(path, parse_options=pcsv.ParseOptions(delimiter=delim, newlines_in_values=True),
                                  convert_options=convert)
    except (pa.ArrowException, OSError) as e:
        raise _csv_error(path, delim, e) from None
    # Arrow reads a column holding bytes that are not UTF-8 as binary: say where they are
    at = not_utf8_at(path) if any(pa.types.is_binary(t) or pa.types.is_large_binary(t) for t in table.schema.types) else ""
    if at:
        raise fail(path, f"the text{at} is not UTF-8", "save the file as UTF-8")
    plain = table.rename_columns([str(i) for i in range(table.num_columns)])  # names not UTF-8: refused later
    floats = [i for i in range(table.num_columns) if _beyond_int64(plain.column(i))]
    if floats:
        names = column_names(table, str(path))
        _refuse_long_integers(path, delim, [names[i] for i in floats])
    return table


#: the least float an integer beyond 64 bits becomes (in size): 2**63 and more, -2**63 and less
_INT64_EDGE = 2.0**63


def _beyond_int64(values: "pa.ChunkedArray") -> bool:
    """Whether a column pyarrow's CSV or JSON reader inferred may hold an integer beyond 64 bits, which it reads
    as a float (2**64 as 1.8446744073709552e+19) silently: only a float, in the column or in its lists or
    objects, of 2**63 or more in size can be one. A file's bytes are not read again: its tables rarely have one."""
    t = values.type
    if pa.types.is_floating(t):
        return pc.any(pc.greater_equal(pc.abs(values), _INT64_EDGE)).as_py() is True
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _beyond_int64(pc.list_flatten(values))
    if pa.types.is_struct(t):
        return any(_beyond_int64(pc.struct_field(values, [i])) for i in range(t.num_fields))
    return False


def _refuse_long_integers(path: Path, delim: str, floats: list[str]) -> None:
    """InputError naming the first cell of the columns ``floats`` (Arrow read them as floats, one of 2**63 or
    more in size each) that is an integer beyond 64 bits (Arrow makes 2**64 the float 1.8446744073709552e+19:
    a value the file does not say); a 19-digit integer within 64 bits (10**18) is the float it equals."""
    as_text = pcsv.read_csv(path, parse_options=pcsv.ParseOptions(delimiter=delim, newlines_in_values=True),
                            convert_options=pcsv.ConvertOptions(include_columns=floats,
                                                                column_types={n: pa.string() for n in floats}))
    for name in floats:
        cells = as_text.column(name)
        long = pc.match_substring_regex(cells, r"^\s*[-+]?0*[0-9]{19,}\s*$").to_numpy(zero_copy_only=False)
        row = next((int(i) for i in np.flatnonzero(long) if not -(2**63) <= int(cells[i].as_py()) < 2**63), -1)
        if row >= 0:
            raise fail(path, f"row {row}, field {name!r}: {cells[row].as_py().strip()} is an "
                       "integer beyond 64 bits, which would be read as a float",
                       "write large ids and keys as text (e.g. with a letter prefix), or as floats if they are")


def _csv_error(path: Path, delim: str, e: Exception) -> Exception:
    """The error of a CSV file Arrow cannot read, naming the line where it can."""
    if "Empty CSV" in str(e) and not path.read_bytes().strip():
        return fail(path, "the file is empty", "export the data again; a CSV file starts with a header of column names")
    at = not_utf8_at(path) if "UTF8" in str(e) else ""
    if at:
        return fail(path, f"the text{at} is not UTF-8", "save the file as UTF-8")
    ragged = _ragged_line(path, delim)
    if ragged is not None:
        line, n, width = ragged
        return fail(path, f"line {line} has {n} values, the header {width} columns",
                    f"give each row one value per column; quote values that hold {delim!r} or a line break"
                    + ("" if delim == "\t" else "; a tab-separated file is read as such when named .tsv"))
    return fail(path, f"cannot read CSV: {str(e).splitlines()[0]}", "check the CSV header and quoting")


def _ragged_line(path: Path, delim: str) -> tuple[int, int, int] | None:
    """(line, values, header columns) of the first row of a CSV file with more or fewer values
    than its header has columns (for the error Arrow gives without a line number); None if none."""
    try:
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as f:
            rows = csv.reader(f, delimiter=delim)
            header = next(rows, None)
            if header is None:
                return None
            line = rows.line_num + 1
            for row in rows:
                if row and len(row) != len(header):
                    return line, len(row), len(header)
                line = rows.line_num + 1
    except (OSError, csv.Error):
        return None
    return None


def is_canonical_row(row: dict) -> bool:
    """Whether a JSONL row is one of annover's annotations table (it has all three key fields)."""
    return all(k in row for k in C.KEYS["annotations"])


def read_jsonl_table(path: Path) -> "pa.Table | None":
    """A JSONL of flat rows read by pyarrow (fast), the file read once; None when it holds Label Studio tasks,
    pyarrow cannot read it (the Python reader then gives the precise error) or made a float of 2**63 or more
    in size, which may be an integer beyond 64 bits (the Python reader keeps it exact or refuses it)."""
    with path.open("rb") as f:
        first = next((line for line in f if line.strip()), b"")
    try:  # UTF-8 as the file must be (json.loads of bytes would guess UTF-16 from a NUL)
        head = json.loads(first.decode("utf-8")) if first else None
    except (ValueError, RecursionError):  # not JSON, not UTF-8: the Python reader says where
        return None
    if not isinstance(head, dict) or "data" in head or "annotations" in head or is_canonical_row(head):
        return None
    try:
        table = pj.read_json(path, parse_options=pj.ParseOptions(newlines_in_values=False))
        table.validate(full=True)  # pyarrow's JSON reader leaves bytes that are not UTF-8 in its strings
    except (pa.ArrowException, OSError, UnicodeDecodeError):  # ... and in its field names
        return None
    # an integer beyond 64 bits pyarrow would have made a float: the Python reader keeps it or says where it is
    return None if any(_beyond_int64(c) for c in table.columns) else table


def read_jsonl_rows(path: Path, rows: list) -> "pa.Table":
    """Flat rows already parsed from a JSONL file (pyarrow could not read it) as a table."""
    bad = next((i for i, r in enumerate(rows) if not isinstance(r, dict)), None)
    if bad is not None:
        raise fail(path, f"line {bad + 1}: not a JSON object", "each line must be one JSON object")
    try:
        return pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        mixed = _mixed_field(rows)
        raise fail(path, f"{mixed}: mixed types in one column" if mixed else f"columns of mixed types: {e}",
                   "give each column one type (write numbers that are keys or ids as text throughout)") from None
    except OverflowError:  # an integer beyond 64 bits, in a list or where pyarrow infers one
        at = next((f"row {i}, field {k!r}: " for i, r in enumerate(rows) for k, v in r.items() if _too_big(v)), "")
        raise fail(path, f"{at}a number is too large for a 64-bit integer",
                   "write large ids and keys as strings") from None


def _too_big(v: Any) -> bool:
    """Whether ``v`` is or holds (in lists) an integer beyond 64 bits."""
    if isinstance(v, list):
        return any(_too_big(x) for x in v)
    return isinstance(v, int) and not isinstance(v, bool) and not -(2**63) <= v < 2**63


def _kind(v: Any) -> str:
    return ("number" if isinstance(v, (int, float)) and not isinstance(v, bool)
            else "text" if isinstance(v, str) else type(v).__name__)


def _mixed_field(rows: list[dict]) -> str | None:
    """``row N, field 'k' is <kind>, row M's <kind>``: the first value whose kind (text, number,
    bool, list, object) differs from the first value of its field, for pyarrow's error, which names neither."""
    first: dict[str, tuple[int, str]] = {}
    for i, r in enumerate(rows):
        for k, v in r.items():
            if v is None:
                continue
            j, kind = first.setdefault(k, (i, _kind(v)))
            if _kind(v) != kind:
                return f"row {i}, field {k!r}: {_kind(v)} {shown(v, 40)} where row {j} has {kind}"
    return None


# ---------------------------------------------------------------------------
# rows -> canonical tables


def column_names(table: "pa.Table", source: str) -> list[str]:
    """The column names of a table read from a file: UTF-8 text, each once; InputError otherwise."""
    names = []
    for i, f in enumerate(table.schema):
        try:
            names.append(f.name)
        except UnicodeDecodeError:
            raise fail(source, f"the name of column {i + 1} is not UTF-8 text", "save the file as UTF-8") from None
    dup = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if dup is not None:
        raise fail(source, f"column {dup!r} appears {names.count(dup)} times",
                   "give each column one name; rename or drop the repeated ones")
    return names


def strings(table: "pa.Table", col: str, source: str) -> "pa.ChunkedArray":
    """Column ``col`` as strings (strings, numbers and booleans are; lists, objects and bytes are refused)."""
    c = table.column(col)
    t = c.type
    if pa.types.is_string(t):
        return c
    if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_null(t)
            or pa.types.is_large_string(t) or pa.types.is_dictionary(t) and pa.types.is_string(t.value_type)):
        i = next((j for j, v in enumerate(c.is_valid().to_pylist()) if v), 0)
        raise fail(source, f"row {i}, column {col!r}: {shown(c[i].as_py(), 40) if len(c) else ''} is {t}, "
                           "expected a string", f"give {col} as text (one value a row)")
    return c.cast(pa.string())


def from_flat(table: "pa.Table", source: str, *, config: LabelingConfig | None = None, key: str | None = None,
              validate: bool = True, fmt: str = Format.CSV, encoded: bool = False) -> Tables:
    """Canonical tables of flat rows; InputError / ValidationError naming the row. ``encoded``:
    with one control, the columns a region's label decides (value, region key, control, type)
    may be dictionary arrays (see :func:`annover.model.canonical.encoded`)."""
    column_names(table, source)
    key_col = (key.split(".", 1)[1] if key and key.startswith("data.") else key) or "task_key"
    keys = _key_column(table, key_col, source)
    from_name, fn_values, const_fn = _control_column(table, config, source)
    ctl_of = controls_of(fn_values, config, source, validate)
    labels, flat, parent = _label_column(table, source)
    if validate and config is not None:
        check_label_column(flat, parent, from_name, keys, ctl_of, config, source)
    annotator = (strings(table, "annotator", source) if "annotator" in table.column_names
                 else pa.nulls(table.num_rows, pa.string()))
    group = ["task_key", "annotation_key"] + (["from_name"] if len(fn_values) > 1 else [])
    # one control: an answer is one row, sorted on (task_key, annotation_key), so on the key with
    # its region_key too; several: sorted on from_name, not on region_key
    in_order = len(group) == 2
    base, task_keys = _answers(keys, annotator, from_name, labels, group, const_fn, parent is None,
                               encoded and in_order)
    # the tasks' keys are the distinct keys the rows were sorted by: in order, each once
    tasks, annotations = _both(lambda: C.conform(_tasks(table, key_col, task_keys, source), "tasks"),
                               lambda: finish(_regions(base, fn_values, ctl_of, encoded and in_order), "annotations",
                                              source, in_order),
                               base.num_rows)
    return Tables(tasks, annotations, empty("predictions"), str(fmt), [])


#: From this many rows on, a flat file's tasks table is built on a thread while its regions are.
THREADED_ROWS = 65536


def _both(first: "Callable[[], Any]", second: "Callable[[], Any]", rows: int) -> tuple[Any, Any]:
    """(first(), second()), ``first`` on a thread of its own when ``rows`` is large (Arrow's
    kernels release the GIL); an error of ``first`` is raised before one of ``second``."""
    if rows < THREADED_ROWS:
        return first(), second()
    with futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="annover-read") as ex:
        one = ex.submit(first)
        try:
            two = second()
        finally:
            out = one.result()
    return out, two


def _key_column(table: "pa.Table", key_col: str, source: str) -> "pa.ChunkedArray":
    """The task keys as strings; every row needs one."""
    cols = table.column_names
    if key_col not in cols or "label" not in cols and "labels" not in cols:
        _refuse_hf_metadata(table, key_col, source)
    if key_col not in cols:
        sep = next((d for d in (";", "\t", "|", ",") if len(cols) == 1 and d in cols[0]), None)
        raise fail(source, f"no key column {key_col!r} (columns: {', '.join(cols) or 'none'})",
                   f"the header is one column holding {sep!r}: save the file comma-separated (.csv) or "
                   "tab-separated (.tsv)" if sep else
                   "name the task key column with --key data.COLUMN, or add a task_key column")
    if "label" not in cols and "labels" not in cols:
        raise fail(source, "no 'label' or 'labels' column", "add a label column: one row per (task key, label)")
    keys = strings(table, key_col, source)
    empty_key = pc.fill_null(pc.equal(keys, ""), True)  # null or "": no key
    if len(keys) and pc.any(empty_key).as_py():
        i = int(np.flatnonzero(empty_key.to_numpy(zero_copy_only=False))[0])
        raise fail(source, f"row {i}: empty task key in column {key_col!r}", "every row needs a task key")
    return keys


def _refuse_hf_metadata(table: "pa.Table", key_col: str, source: str) -> None:
    """InputError naming what is wrong with the ``huggingface`` schema metadata of a file ``datasets`` wrote,
    when a flat reading of it lacks the key or the label column: a Hugging Face dataset then, not flat rows,
    whose features could not be read (its ``ClassLabel`` ids would be no labels read flat)."""
    fault = hf.metadata_fault(table.schema.metadata)
    if fault is None:
        return
    missing = key_col if key_col not in table.column_names else "label"
    raise fail(source, f"{fault}; read as flat rows instead, it has no {missing!r} column",
               f"{hf.PARQUET_FIX} with a task_key and a label column")


def _control_column(table: "pa.Table", config: LabelingConfig | None,
                    source: str) -> tuple["pa.ChunkedArray | None", list, str | None]:
    """(the from_name column or None, its distinct values, the control of every row when the file
    has no from_name column: the config's one label control, preferring the one <Choices>)."""
    if "from_name" in table.column_names:
        from_name = strings(table, "from_name", source)
        return from_name, pc.unique(from_name).to_pylist(), None
    if config is None:
        raise fail(source, "no 'from_name' column and no labeling config",
                   "pass --config LABELING.xml or add a from_name column")
    labelled = [c for c in config.controls.values() if c.labels]
    if len(labelled) != 1:  # a (key, label) row is a classification: prefer the one <Choices>
        labelled = [c for c in labelled if c.tag.lower() == "choices"]
    if len(labelled) != 1:
        raise fail(source, f"the config has {len(labelled)} label controls and the file no from_name column",
                   "add a from_name column naming the control of each row")
    return None, [labelled[0].name], labelled[0].name


def _label_column(table: "pa.Table", source: str) -> tuple["pa.ChunkedArray", "pa.ChunkedArray", "pa.Array | None"]:
    """(labels as given, labels flattened, the row of each flattened label or None for one a row)."""
    cols = table.column_names
    if "labels" in cols and pa.types.is_list(table.column("labels").type):
        labels = table.column("labels")
        flat = pc.list_flatten(labels)
        parent = pc.list_parent_indices(labels)
        flat = strings(pa.table({"labels": flat}), "labels", source)  # a list of strings, not of objects
        if flat.null_count:
            j = int(np.flatnonzero(~flat.is_valid().to_numpy(zero_copy_only=False))[0])
            raise fail(source, f"row {parent[j].as_py()}, column 'labels': a null label", "give labels as text")
        return labels.cast(pa.list_(pa.string())), C.single_chunk(flat), C.single_chunk(parent)
    labels = table.column("label" if "label" in cols else "labels")
    if labels.null_count:
        i = int(np.flatnonzero(~labels.is_valid().to_numpy(zero_copy_only=False))[0])
        raise fail(source, f"row {i}: empty label", "every row needs a label")
    labels = strings(table, "label" if "label" in cols else "labels", source)
    return labels, labels, None


def _answers(keys: "pa.ChunkedArray", annotator: "pa.ChunkedArray", from_name: "pa.ChunkedArray | None",
             labels: "pa.ChunkedArray", group: list[str], const_fn: str | None, one_label: bool,
             encoded: bool = False) -> "tuple[pa.Table, pa.Array]":
    """(task_key, annotation_key, annotator, from_name, labels (a list): sorted, one row a region
    (the annotator, its key and a file's one control as dictionaries: ``encoded``); the distinct
    task keys, sorted)."""
    # a code per distinct annotator (a null one too: it stays null, its answer key is "-#0"), whose
    # annotation key "<annotator>#0" is built once; the rows are sorted on the key's rank among
    # the few distinct keys (an integer compares quicker) and carry the code, decoded once sorted
    # the task keys as their rank among the distinct keys, found once: the sort orders those
    # integers, and the sorted rows' keys are gathered from the sorted distinct keys (in
    # sequence, not from all over the column); the other columns are gathered in this thread
    # (a thread a column took more CPU than one thread for all: their page faults contend)
    key_rank, task_keys = C.ranked(keys, duck.sorted_distinct)
    who = C.single_chunk(pc.dictionary_encode(annotator, null_encoding="encode"))
    ann_keys = pc.binary_join_element_wise(pc.fill_null(who.dictionary, "-"), "0", "#")
    rank = C.int_array(C.dense_rank(ann_keys)[0], "int32").take(who.indices)
    fn = {"from_name": C.single_chunk(from_name)} if from_name is not None else {}
    order = duck.sort_ranked(pa.table({"task_key": C.int_array(key_rank, "int32"), "annotation_key": rank, **fn}
                                      ).select(group), group)
    rows = pa.table({"code": who.indices, **fn, "labels": C.single_chunk(labels)}).take(order)
    sorted_rank = C.int_array(key_rank[order.to_numpy()], "int32")
    sorted_keys = task_keys.take(sorted_rank)
    code = C.single_chunk(rows.column("code"))
    base = pa.table({"task_key": sorted_keys, "annotation_key": C.encoded(code, ann_keys, encoded),
                     "annotator": C.encoded(code, who.dictionary, encoded), **{k: rows.column(k) for k in fn},
                     "labels": rows.column("labels")})
    if const_fn is not None:
        n = base.num_rows
        one = C.encoded(C.int_array(np.zeros(n, dtype=np.int32), "int32"), pa.array([const_fn])) if encoded \
            else C.repeat_string(const_fn, n)
        base = base.add_column(3, "from_name", one)
    if one_label:  # a list of one
        one = base.column("labels").combine_chunks()
        offsets = pa.array(np.arange(len(one) + 1, dtype=np.int32))
        base = base.set_column(4, "labels", pa.ListArray.from_arrays(offsets, one))
    return _merge_runs(base, group, sorted_rank), task_keys


def _merge_runs(base: "pa.Table", group: list[str], task_rank: "pa.Array | None" = None) -> "pa.Table":
    """Several rows of one (task, annotator, control): one row with all their labels, sorted.
    ``task_rank``: each row's task key as its rank among the distinct keys (compared for them)."""
    n = base.num_rows
    if n < 2:
        return base
    same = None
    for c in group:
        col = task_rank if c == "task_key" and task_rank is not None else C.compared(base.column(c))
        eq = pc.equal(col.slice(1), col.slice(0, n - 1))
        same = eq if same is None else pc.and_(same, eq)
    if not pc.any(same).as_py():
        return base
    base = C.plain_table(base)  # merged by texts
    lab = base.column("labels").combine_chunks()
    parent = pc.list_parent_indices(lab)
    keep = ("task_key", "annotation_key", "annotator", "from_name")
    exploded = pa.table({c: pc.take(base.column(c), parent) for c in keep} | {"label": pc.list_flatten(lab)})
    g = exploded.group_by(["task_key", "annotation_key", "from_name"], use_threads=False).aggregate(
        [("label", "distinct"), ("annotator", "first")])
    merged = [sorted(v) for v in g.column("label_distinct").to_pylist()]
    base = pa.table({"task_key": g.column("task_key"), "annotation_key": g.column("annotation_key"),
                     "annotator": g.column("annotator_first"), "from_name": g.column("from_name"),
                     "labels": pa.array(merged, pa.list_(pa.string()))})
    return C.take(base, duck.sort_indices(base, group))


def _regions(base: "pa.Table", fn_values: list, ctl_of: dict[str | None, Control | None],
             encoded: bool = False) -> "pa.Table":
    """The annotations table: value / to_name / type / region_key encoded once per distinct
    (control, labels) and spread with a dictionary take (kept as dictionaries: ``encoded``)."""
    fn_col = base.column("from_name").combine_chunks()
    lab_col = base.column("labels").combine_chunks()
    lengths = pc.min_max(pc.list_value_length(lab_col)).as_py() if len(lab_col) else {}
    if len(fn_values) == 1 and fn_values[0] is not None and lengths == {"min": 1, "max": 1}:
        # one control, one label per row (a plain (key, label) file): the label is the combination
        enc = pc.dictionary_encode(pc.list_flatten(lab_col))
        combos = [(fn_values[0], [label]) for label in enc.dictionary.to_pylist()]
    else:
        lab_text = pc.binary_join(lab_col, "\x1f")
        enc = pc.dictionary_encode(pc.binary_join_element_wise(pc.fill_null(C.plain(fn_col), ""), lab_text, "\x1e"))
        combos = []
        for s in enc.dictionary.to_pylist():
            fn, _, labs = s.partition("\x1e")
            combos.append((fn, labs.split("\x1f") if labs else []))
    columns = list(zip(*(_region_of(fn, labs, ctl_of.get(fn)) for fn, labs in combos))) or [(), (), (), ()]
    idx = C.single_chunk(enc).indices
    value_d, to_d, type_d, rk_d = (pa.array(list(c), pa.string()) for c in columns)
    m = base.num_rows
    # every row false: a bitmap of zeros, one array for both columns (pa.array of a numpy
    # bool array packs 1M values into bits, twice)
    false = pa.Array.from_buffers(pa.bool_(), m, [None, pa.py_buffer(np.zeros((m + 7) // 8, dtype=np.uint8))])
    return pa.table({
        "task_key": base.column("task_key"),
        "annotation_key": base.column("annotation_key"),
        "region_key": C.encoded(idx, rk_d, encoded),
        "annotator": base.column("annotator"),
        "from_name": fn_col,
        "to_name": C.encoded(idx, to_d, encoded),
        "type": C.encoded(idx, type_d, encoded),
        "labels": lab_col,
        "value": C.encoded(idx, value_d, encoded),
        "was_cancelled": false,
        "ground_truth": false,
    })


def _region_of(fn: str, labels: list[str], ctl: Control | None) -> tuple[str, str | None, str, str]:
    """(value, to_name, type, region_key) of a region of control ``fn`` carrying ``labels``."""
    typ = ctl.result_type if ctl is not None else "choices"
    to_name = ctl.to_name[0] if ctl is not None and ctl.to_name else None
    value = C.canonical_json({typ: labels})
    content = C.canonical_json([fn, to_name, typ, value, None])
    return value, to_name, typ, "~" + hashlib.sha256(content.encode()).hexdigest()[:12]


def _data_json(data: dict, key: str, source: str) -> str:
    """A task's data as canonical JSON; InputError naming the task and column where a value cannot be."""
    try:
        return C.canonical_json(data)
    except (TypeError, ValueError) as e:
        at, _, what = str(e).removeprefix("$.").partition(": ")
        raise fail(source, f"task key {key}, column {at}: {what or e}",
                   "give task data as text, numbers (finite), lists or objects") from None


def _tasks(table: "pa.Table", key_col: str, uniq: "pa.Array", source: str) -> "pa.Table":
    """One task per key of ``uniq`` (sorted, unique); data = the key field plus any other columns
    (first row's values)."""
    other = [c for c in table.column_names if c not in KNOWN_COLUMNS and c != key_col]
    if other:
        first: dict[str, dict] = {}
        for row in table.select([key_col, *other]).to_pylist():
            first.setdefault(str(row[key_col]), row)
        data = [_data_json({**{c: first[k][c] for c in other}, key_col: k}, k, source) for k in uniq.to_pylist()]
        data_arr = pa.array(data, pa.string())
    else:
        data_arr = task_data_for_keys(uniq, key_col)
    return pa.table({"task_key": uniq, "data": data_arr})

