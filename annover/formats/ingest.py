"""Read any supported source into the three canonical Arrow tables.

Sources: a Label Studio JSON export (full), Label Studio JSON-MIN, JSONL of Label Studio
tasks, a flat JSONL / CSV / Parquet of (task key, label) rows, and annover's own
annotations Parquet (``annover export --format parquet``). Errors name the file, the
record and the field, and nothing is written before everything has been read and checked.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from annover.model import canonical as C
from annover.errors import InputError, ValidationError
from annover.formats.label_studio import RecordError, Rows, parse_tasks

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from annover.model.config import LabelingConfig

FORMATS = ("label-studio", "json-min", "jsonl", "csv", "parquet")
_FLAT_KNOWN = {"task_key", "label", "labels", "annotator", "from_name", "to_name"}


@dataclass
class Tables:
    """The canonical tables of one source, each conformed to its schema and sorted by key."""

    tasks: "pa.Table"
    annotations: "pa.Table"
    predictions: "pa.Table"
    format: str = ""
    warnings: list[str] = field(default_factory=list)


def _fail(path: str, msg: str, hint: str) -> InputError:
    return InputError(f"{path}: {msg}", hint)


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _fail(str(path), "no such file", "check the path given to --from") from None
    except UnicodeDecodeError as e:
        raise _fail(str(path), f"not UTF-8 text ({e.reason} at byte {e.start})", "export the file as UTF-8 JSON") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        what = "truncated JSON" if e.pos >= len(text.rstrip()) else "invalid JSON"
        raise _fail(str(path), f"{what} at line {e.lineno} column {e.colno}: {e.msg}",
                    "re-export the file from Label Studio or fix the JSON") from None


def _read_jsonl(path: Path) -> list[Any]:
    rows = []
    try:
        with path.open(encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise _fail(str(path), f"line {n}: invalid JSON at column {e.colno}: {e.msg}",
                                "each line must be one JSON object") from None
    except FileNotFoundError:
        raise _fail(str(path), "no such file", "check the path given to --from") from None
    except UnicodeDecodeError as e:
        raise _fail(str(path), f"not UTF-8 text ({e.reason})", "save the file as UTF-8") from None
    return rows


def _read_flat_jsonl(path: Path) -> "pa.Table | None":
    """A JSONL of flat rows read by pyarrow (fast); None when it holds Label Studio tasks
    or pyarrow cannot read it (the Python reader then gives the precise error)."""
    import pyarrow as pa
    import pyarrow.json as pj

    with path.open("rb") as f:
        first = b""
        for line in f:
            if line.strip():
                first = line
                break
    try:
        head = json.loads(first) if first else None
    except json.JSONDecodeError:
        return None
    if not isinstance(head, dict) or "data" in head or "annotations" in head:
        return None
    try:
        return pj.read_json(path, parse_options=pj.ParseOptions(newlines_in_values=False))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError):
        return None


def detect_format(path: Path) -> str:
    ext = path.suffix.lower()
    if ext in (".jsonl", ".ndjson"):
        return "jsonl"
    if ext in (".csv", ".tsv"):
        return "csv"
    if ext in (".parquet", ".pq"):
        return "parquet"
    if ext == ".json":
        return "json"
    raise _fail(str(path), f"unknown file type {ext or '(none)'}",
                "use .json (Label Studio export or JSON-MIN), .jsonl, .csv or .parquet, or pass --format")


def read_source(path: str | Path, *, config: "LabelingConfig | None" = None, key: str | None = None,
                fmt: str | None = None, validate: bool = True) -> Tables:
    """Read ``path`` into canonical tables; InputError / ValidationError on bad input."""
    path = Path(path)
    if not path.exists():
        raise _fail(str(path), "no such file", "check the path given to --from")
    kind = fmt or detect_format(path)
    if kind in ("json", "label-studio", "json-min"):
        doc = _read_json(path)
        if isinstance(doc, dict) and isinstance(doc.get("tasks"), list):
            doc = doc["tasks"]
        if not isinstance(doc, list):
            raise _fail(str(path), f"expected a JSON list of tasks, got a JSON {type(doc).__name__}",
                        "give a Label Studio JSON or JSON-MIN export (a list)")
        if kind == "json":
            kind = "label-studio" if _looks_like_tasks(doc) else "json-min"
        if kind == "label-studio":
            return from_ls_tasks(doc, str(path), config=config, key=key, validate=validate)
        return from_json_min(doc, str(path), config=config, key=key, validate=validate)
    if kind == "jsonl":
        flat = _read_flat_jsonl(path)
        if flat is not None:
            return from_flat(flat, str(path), config=config, key=key, validate=validate, fmt="jsonl")
        rows = _read_jsonl(path)
        if rows and _looks_like_tasks(rows):
            return from_ls_tasks(rows, str(path), config=config, key=key, validate=validate, fmt="jsonl")
        import pyarrow as pa

        if any(not isinstance(r, dict) for r in rows):
            i = next(i for i, r in enumerate(rows) if not isinstance(r, dict))
            raise _fail(str(path), f"line {i + 1}: not a JSON object", "each line must be one JSON object")
        try:
            table = pa.Table.from_pylist(rows)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
            raise _fail(str(path), f"columns of mixed types: {e}", "give each column one type") from None
        return from_flat(table, str(path), config=config, key=key, validate=validate, fmt="jsonl")
    if kind == "csv":
        import pyarrow as pa
        import pyarrow.csv as pcsv

        try:
            table = pcsv.read_csv(path, parse_options=pcsv.ParseOptions(delimiter="\t" if path.suffix.lower() == ".tsv" else ","),
                                  convert_options=pcsv.ConvertOptions(strings_can_be_null=False,
                                                                      column_types={"task_key": pa.string(), "label": pa.string()}))
        except (pa.ArrowInvalid, OSError) as e:
            raise _fail(str(path), f"cannot read CSV: {str(e).splitlines()[0]}", "check the CSV header and quoting") from None
        return from_flat(table, str(path), config=config, key=key, validate=validate, fmt="csv")
    if kind == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:  # ParquetFile, not read_table: no dataset scanner (and no pandas import)
            table = pq.ParquetFile(path, pre_buffer=False).read()
        except (pa.ArrowInvalid, OSError) as e:
            raise _fail(str(path), f"cannot read Parquet: {str(e).splitlines()[0]}", "give a valid Parquet file") from None
        if "annotation_key" in table.column_names:
            return from_canonical(table, str(path), config=config, validate=validate)
        return from_flat(table, str(path), config=config, key=key, validate=validate, fmt="parquet")
    raise _fail(str(path), f"unknown format {kind!r}", f"use one of {', '.join(FORMATS)}")


def _looks_like_tasks(doc: list) -> bool:
    first = next((x for x in doc if isinstance(x, dict)), None)
    return first is None or "data" in first or "annotations" in first or "completions" in first


# ---------------------------------------------------------------------------
# Label Studio JSON


def validate_ls_tasks(tasks: list[dict], config: "LabelingConfig", source: str, key: str | None) -> None:
    """Check every result item (annotations and predictions) against the config."""
    from annover.formats.label_studio import task_key_of

    for ti, task in enumerate(tasks):
        if not isinstance(task, dict):
            continue
        for kind in ("annotations", "predictions"):
            answers = task.get(kind) or (task.get("completions") if kind == "annotations" else None) or []
            if not isinstance(answers, list):
                continue
            for ai, ans in enumerate(answers):
                if not isinstance(ans, dict) or not isinstance(ans.get("result"), list):
                    continue
                for ri, item in enumerate(ans["result"]):
                    if not isinstance(item, dict):
                        continue
                    errors = config.region_errors(item)
                    if errors:
                        try:
                            tkey = task_key_of(task, key, "")
                        except RecordError:
                            tkey = "?"
                        raise ValidationError(
                            f"{source}: task {ti} (key {tkey}), {kind[:-1]} {ai}, region {ri} "
                            f"({item.get('from_name')}): {errors[0]}",
                            f"fix the label or add it to {config.source}, or pass --no-validate",
                        )


def rows_to_tables(rows: Rows, fmt: str, source: str) -> Tables:
    import pyarrow as pa

    tables = {}
    for name in C.TABLES:
        data = getattr(rows, name)
        try:
            t = pa.Table.from_pylist(data, schema=C.schema(name)) if data else C.schema(name).empty_table()
        except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
            raise _fail(source, f"a field has the wrong type: {e}", "check the export") from None
        tables[name] = finish(t, name, source)
    warnings = []
    if rows.prediction_ids_only:
        warnings.append(
            f"{source}: {rows.prediction_ids_only} predictions are given as ids only (a plain export); "
            "they are not kept — export with full predictions or pass --predictions FILE"
        )
    return Tables(tables["tasks"], tables["annotations"], tables["predictions"], fmt, warnings)


def from_ls_tasks(tasks: list, source: str, *, config=None, key=None, validate=True, fmt="label-studio") -> Tables:
    try:
        rows = parse_tasks(tasks, key=key, source=source)
    except RecordError as e:
        raise InputError(str(e), "fix the record, or check that this is a Label Studio JSON export") from None
    if validate and config is not None:
        validate_ls_tasks(tasks, config, source, key)
    return rows_to_tables(rows, fmt, source)


def finish(table: "pa.Table", name: str, source: str) -> "pa.Table":
    """Conform, sort, and refuse duplicate keys (naming them)."""
    t = C.sort_table(C.conform(table, name), name)
    dups = C.duplicate_keys(t, name)
    if dups:
        d = dups[0]
        what = ", ".join(f"{k}={v!r}" for k, v in d.items())
        hint = ("tasks need unique keys: choose a unique data field with --key data.FIELD"
                if name == "tasks" else "each row needs a unique key")
        raise InputError(f"{source}: duplicate {name[:-1]} ({what})", hint)
    return t


# ---------------------------------------------------------------------------
# JSON-MIN


_MIN_META = {"id", "annotator", "annotation_id", "created_at", "updated_at", "lead_time"}


def from_json_min(rows: list, source: str, *, config=None, key=None, validate=True) -> Tables:
    """Label Studio JSON-MIN: one flat object per annotation; control names are keys."""
    if config is None:
        raise InputError(f"{source}: a JSON-MIN export needs the labeling config",
                         "pass --config LABELING.xml so annover knows which keys are labels")
    controls = config.controls
    tasks: dict[Any, dict] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise _fail(source, f"record {i} is {type(row).__name__}, expected an object", "give a JSON-MIN export")
        tid = row.get("id", f"row{i}")
        data = {k: v for k, v in row.items() if k not in _MIN_META and k not in controls}
        task = tasks.setdefault(json.dumps(tid, sort_keys=True, default=str),
                                {"data": data, "annotations": [], **({"id": tid} if isinstance(tid, int) else {})})
        result = []
        for name, ctl in controls.items():
            if name not in row:
                continue
            v = row[name]
            to_name = ctl.to_name[0] if ctl.to_name else None
            typ = ctl.result_type
            if isinstance(v, str):
                result.append({"from_name": name, "to_name": to_name, "type": typ, "value": {typ: [v]}})
            elif isinstance(v, dict):
                result.append({"from_name": name, "to_name": to_name, "type": typ, "value": v})
            elif isinstance(v, list):
                for item in v:
                    if isinstance(item, dict):
                        result.append({"from_name": name, "to_name": to_name, "type": typ, "value": item})
                    else:
                        raise _fail(source, f"record {i}, field {name!r}: list item {item!r} is not an object",
                                    "give a JSON-MIN export from Label Studio")
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                result.append({"from_name": name, "to_name": to_name, "type": typ, "value": {typ: v}})
        ann = {"completed_by": row.get("annotator"), "result": result}
        for k in ("created_at", "updated_at", "lead_time"):
            if k in row:
                ann[k] = row[k]
        if isinstance(row.get("annotation_id"), int):
            ann["id"] = row["annotation_id"]
        task["annotations"].append(ann)
    return from_ls_tasks(list(tasks.values()), source, config=config, key=key, validate=validate, fmt="json-min")


# ---------------------------------------------------------------------------
# flat (task key, label) rows — vectorised, for large inputs


def _json_strings(values: list[Any]) -> list[str]:
    return [C.canonical_json(v) for v in values]


def from_flat(table: "pa.Table", source: str, *, config=None, key=None, validate=True, fmt="csv") -> Tables:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    cols = table.column_names
    key_col = (key.split(".", 1)[1] if key and key.startswith("data.") else key) or "task_key"
    if key_col not in cols:
        raise _fail(source, f"no key column {key_col!r} (columns: {', '.join(cols) or 'none'})",
                    "name the task key column with --key data.COLUMN, or add a task_key column")
    if "label" not in cols and "labels" not in cols:
        raise _fail(source, "no 'label' or 'labels' column", "add a label column: one row per (task key, label)")
    n = table.num_rows
    keys = table.column(key_col)
    if keys.null_count:
        i = int(np.flatnonzero(~keys.is_valid().to_numpy(zero_copy_only=False))[0])
        raise _fail(source, f"row {i}: empty task key in column {key_col!r}", "every row needs a task key")
    if not pa.types.is_string(keys.type):
        keys = keys.cast(pa.string())

    # from_name / to_name / type: columns, or the config's single classification control
    const_fn: str | None = None  # the control of every row, when the file has no from_name column
    if "from_name" in cols:
        from_name = table.column("from_name").cast(pa.string())
        fn_values = pc.unique(from_name).to_pylist()
    else:
        if config is None:
            raise _fail(source, "no 'from_name' column and no labeling config",
                        "pass --config LABELING.xml or add a from_name column")
        labelled = [c for c in config.controls.values() if c.labels]
        if len(labelled) != 1:  # a (key, label) row is a classification: prefer the one <Choices>
            labelled = [c for c in labelled if c.tag.lower() == "choices"]
        if len(labelled) != 1:
            raise _fail(source, f"the config has {len(labelled)} label controls and the file no from_name column",
                        "add a from_name column naming the control of each row")
        const_fn = labelled[0].name
        from_name = None  # built after sorting: the same value in every row
        fn_values = [const_fn]
    ctl_of = {}
    for fn in fn_values:
        ctl = config.controls.get(fn) if config is not None else None
        if config is not None and ctl is None and validate:
            raise ValidationError(f"{source}: control {fn!r} (column from_name) is not in {config.source}",
                                  "fix from_name or the config, or pass --no-validate")
        ctl_of[fn] = ctl

    # labels: a list per row (a list-typed 'labels' column), or one per row (a 'label' column),
    # kept as plain strings through the sort and made lists after it
    if "labels" in cols and pa.types.is_list(table.column("labels").type):
        labels = table.column("labels").cast(pa.list_(pa.string()))
        flat, parent = pc.list_flatten(labels), pc.list_parent_indices(labels)
    else:
        labels = table.column("label" if "label" in cols else "labels")
        if labels.null_count:
            i = int(np.flatnonzero(~labels.is_valid().to_numpy(zero_copy_only=False))[0])
            raise _fail(source, f"row {i}: empty label", "every row needs a label")
        labels = labels.cast(pa.string())
        flat, parent = labels, None

    annotator = table.column("annotator").cast(pa.string()) if "annotator" in cols else pa.nulls(n, pa.string())

    # validation: every label allowed by its control
    if validate and config is not None:
        fn_flat = None
        for fn, ctl in ctl_of.items():
            if ctl is None or not ctl.labels:
                continue
            bad = pc.invert(pc.is_in(flat, value_set=pa.array(list(ctl.labels), pa.string())))
            if len(ctl_of) > 1:
                if fn_flat is None:
                    fn_flat = from_name if parent is None else pc.take(from_name, parent)
                bad = pc.and_(pc.equal(fn_flat, fn), bad)
            if pc.any(bad).as_py():
                j = int(np.flatnonzero(bad.to_numpy(zero_copy_only=False))[0])
                row = j if parent is None else int(parent[j].as_py())
                raise ValidationError(
                    f"{source}: row {row} (key {keys[row].as_py()}), control {fn!r}: label {flat[j].as_py()!r} "
                    f"is not in {config.source} (allowed: {', '.join(ctl.labels)})",
                    "fix the label or add it to the config, or pass --no-validate",
                )

    # annotation key "<annotator>#0", built once per distinct annotator
    ann_enc = C.single_chunk(pc.dictionary_encode(pc.fill_null(annotator, "-")))
    ann_key = pa.DictionaryArray.from_arrays(
        ann_enc.indices, pc.binary_join_element_wise(ann_enc.dictionary, "0", "#")).dictionary_decode()
    base = pa.table({"task_key": keys, "annotation_key": ann_key, "annotator": annotator,
                     **({"from_name": from_name} if from_name is not None else {}), "labels": labels})
    group = ["task_key", "annotation_key"] + (["from_name"] if len(fn_values) > 1 else [])
    base = C.take(base, C.sort_indices(base, group))
    if const_fn is not None:
        base = base.add_column(3, "from_name", C.repeat_string(const_fn, base.num_rows))
    if parent is None:  # one label per row: a list of one
        one = base.column("labels").combine_chunks()
        base = base.set_column(4, "labels", pa.ListArray.from_arrays(pa.array(np.arange(len(one) + 1, dtype=np.int32)), one))
    # several rows of one (task, annotator, control): one region with all their labels
    if base.num_rows > 1:
        same = None
        for c in group:
            col = base.column(c)
            eq = pc.equal(col.slice(1), col.slice(0, base.num_rows - 1))
            same = eq if same is None else pc.and_(same, eq)
        if pc.any(same).as_py():
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
            base = C.take(base, C.sort_indices(base, group))

    # value / to_name / type / region_key: few distinct (control, labels) combinations, so
    # encode each once in Python and spread it with a dictionary take.
    fn_col = base.column("from_name").combine_chunks()
    lab_col = base.column("labels").combine_chunks()
    lengths = pc.min_max(pc.list_value_length(lab_col)).as_py() if len(lab_col) else {}
    if len(fn_values) == 1 and fn_values[0] is not None and lengths == {"min": 1, "max": 1}:
        # one control, one label per row (a plain (key, label) file): the label is the combination
        enc = pc.dictionary_encode(pc.list_flatten(lab_col))
        combos = [(fn_values[0], [label]) for label in enc.dictionary.to_pylist()]
    else:
        lab_text = pc.binary_join(lab_col, "\x1f")
        enc = pc.dictionary_encode(pc.binary_join_element_wise(pc.fill_null(fn_col, ""), lab_text, "\x1e"))
        combos = []
        for s in enc.dictionary.to_pylist():
            fn, _, labs = s.partition("\x1e")
            combos.append((fn, labs.split("\x1f") if labs else []))
    enc = C.single_chunk(enc)
    value_d, to_d, type_d, rk_d = [], [], [], []
    for fn, labs_l in combos:
        ctl = ctl_of.get(fn)
        typ = ctl.result_type if ctl is not None else "choices"
        to_name = ctl.to_name[0] if ctl is not None and ctl.to_name else None
        value = C.canonical_json({typ if typ != "taxonomy" else "taxonomy": labs_l})
        value_d.append(value)
        to_d.append(to_name)
        type_d.append(typ)
        content = C.canonical_json([fn, to_name, typ, value, None])
        rk_d.append("~" + hashlib.sha256(content.encode()).hexdigest()[:12])
    idx = enc.indices
    m = base.num_rows
    annotations = pa.table({
        "task_key": base.column("task_key"),
        "annotation_key": base.column("annotation_key"),
        "region_key": pc.take(pa.array(rk_d, pa.string()), idx),
        "annotator": base.column("annotator"),
        "from_name": fn_col,
        "to_name": pc.take(pa.array(to_d, pa.string()), idx),
        "type": pc.take(pa.array(type_d, pa.string()), idx),
        "labels": lab_col,
        "value": pc.take(pa.array(value_d, pa.string()), idx),
        "was_cancelled": pa.array(np.zeros(m, dtype=bool)),
        "ground_truth": pa.array(np.zeros(m, dtype=bool)),
    })

    # tasks: one per key; data = the key field plus any other columns (first row's values)
    other = [c for c in cols if c not in _FLAT_KNOWN and c != key_col]
    sorted_keys = base.column("task_key")
    uniq = sorted_keys.filter(pa.array(C.first_of_runs(base, ["task_key"])))  # sorted, unique
    uniq = C.single_chunk(uniq)
    if other:
        first = {}
        for i, row in enumerate(table.select([key_col, *other]).to_pylist()):
            first.setdefault(str(row[key_col]), row)
        data = [C.canonical_json({**{c: first[k][c] for c in other}, key_col: k}) for k in uniq.to_pylist()]
        data_arr = pa.array(data, pa.string())
    else:
        data_arr = _task_data_for_keys(uniq, key_col)
    tasks = pa.table({"task_key": uniq, "data": data_arr})
    return Tables(finish(tasks, "tasks", source), finish(annotations, "annotations", source),
                  C.schema("predictions").empty_table(), fmt, [])


# ---------------------------------------------------------------------------
# annover's own annotations Parquet


def from_canonical(table: "pa.Table", source: str, *, config=None, validate=True) -> Tables:
    """An annotations table in annover's schema (as ``annover export --format parquet`` writes)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    want = C.schema("annotations")
    missing = [f.name for f in want if f.name not in table.column_names and not f.nullable
               and f.name not in ("position", "was_cancelled", "ground_truth")]
    if missing:
        raise _fail(source, f"missing column(s) {', '.join(missing)}", "give a Parquet file written by annover export")
    try:
        ann = C.conform(table.select([c for c in table.column_names if c in want.names]), "annotations")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as e:
        raise _fail(source, f"a column has the wrong type: {e}", "give a Parquet file written by annover export") from None
    if validate and config is not None:
        flat = pc.list_flatten(ann.column("labels"))
        parent = pc.list_parent_indices(ann.column("labels"))
        fn_flat = pc.take(ann.column("from_name"), parent)
        for fn in pc.unique(ann.column("from_name")).to_pylist():
            if fn is None:
                continue
            ctl = config.controls.get(fn)
            if ctl is None:
                raise ValidationError(f"{source}: control {fn!r} (column from_name) is not in {config.source}",
                                      "fix from_name or the config, or pass --no-validate")
            if not ctl.labels:
                continue
            bad = pc.and_(pc.equal(fn_flat, fn), pc.invert(pc.is_in(flat, value_set=pa.array(list(ctl.labels)))))
            if pc.any(bad).as_py():
                import numpy as np

                j = int(np.flatnonzero(bad.to_numpy(zero_copy_only=False))[0])
                row = int(parent[j].as_py())
                raise ValidationError(
                    f"{source}: row {row} (key {ann.column('task_key')[row].as_py()}), control {fn!r}: "
                    f"label {flat[j].as_py()!r} is not in {config.source}",
                    "fix the label or add it to the config, or pass --no-validate")
    ann = finish(ann, "annotations", source)
    keys = ann.column("task_key").filter(pa.array(C.first_of_runs(ann, ["task_key"])))  # sorted, distinct
    keys = C.single_chunk(keys)
    tasks = pa.table({"task_key": keys, "data": _task_data_for_keys(keys, "task_key")})
    return Tables(finish(tasks, "tasks", source), ann, C.schema("predictions").empty_table(), "parquet", [])


def _task_data_for_keys(keys: "pa.Array", field: str) -> "pa.Array":
    """``{"FIELD": key}`` as canonical JSON per key; vectorised when no key needs escaping."""
    import pyarrow as pa
    import pyarrow.compute as pc

    esc = pc.match_substring_regex(keys, r'["\\\x00-\x1f\x7f]')
    if pc.any(esc).as_py() or any(ch in field for ch in '"\\') or any(ord(ch) < 32 for ch in field):
        return pa.array(_json_strings([{field: k} for k in keys.to_pylist()]), pa.string())
    return pc.binary_join_element_wise('{"' + field + '":"', keys, '"}', "")
