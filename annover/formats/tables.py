"""The canonical tables a reader returns, and the last step every reader takes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from annover._lazy import lazy
from annover.errors import InputError
from annover.model import canonical as C
from annover.store import duck

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")

__all__ = ["HEAD_KEY", "Tables", "empty", "finish", "rows_to_tables", "task_data_for_keys"]


@dataclass
class Tables:
    """The canonical tables of one source, each conformed to its schema and sorted by key."""

    tasks: "pa.Table"
    annotations: "pa.Table"
    predictions: "pa.Table"
    format: str = ""
    warnings: list[str] = field(default_factory=list)
    #: a labeling config the reader generated (training formats read without one), stored with the version
    config_text: str | None = None
    #: the ``--key`` rule the reader's task keys follow where its format has no one rule (a Hugging Face
    #: dataset's: ``stem:data.FIELD`` for images, :data:`HEAD_KEY` for annover's own export); None: the format's
    key_rule: str | None = None


#: :attr:`Tables.key_rule` of rows keyed as the version they were exported from (a ``task_key`` column):
#: read with HEAD's rule
HEAD_KEY = "head"


def empty(name: str) -> "pa.Table":
    """An empty canonical table ``name``."""
    return C.schema(name).empty_table()


def finish(table: "pa.Table", name: str, source: str, in_order: bool = False) -> "pa.Table":
    """Conform, sort, and refuse duplicate keys (naming them). ``in_order``: the caller built
    the rows in key order with unique keys (conformed only: the check reads every key column;
    a text column may be a dictionary, see :func:`annover.model.canonical.encoded`)."""
    if in_order:
        return C.conform(table, name, dictionary=True)
    t, same = C.sorted_table(C.conform(table, name), name, duck.sort_indices)
    dups = C.duplicate_keys(t, name, same=same)
    if dups:
        what = ", ".join(f"{k}={v!r}" for k, v in dups[0].items())
        hint = ("tasks need unique keys: choose a unique data field with --key data.FIELD, or key on "
                "Label Studio's task id with --key id (ids change when tasks are imported again)"
                if name == "tasks" else "each row needs a unique key")
        raise DuplicateKey(f"{source}: duplicate {name[:-1]} ({what})", hint)
    return t


class DuplicateKey(InputError):
    """Two rows of a table with one key (its message names the key; its hint how to fix it)."""


def rows_to_tables(rows: dict[str, list[dict[str, Any]]], fmt: str, source: str,
                   warnings: list[str] | None = None) -> Tables:
    """Tables from row dicts per table name (missing columns are nulls)."""
    out = {}
    for name in C.TABLES:
        data = rows.get(name)
        try:
            t = pa.Table.from_pylist(data, schema=C.schema(name)) if data else empty(name)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
            raise InputError(f"{source}: a field has the wrong type: {e}", "check the export") from None
        out[name] = finish(t, name, source)
    return Tables(out["tasks"], out["annotations"], out["predictions"], str(fmt), list(warnings or []))


def task_data_for_keys(keys: "pa.Array", field_name: str) -> "pa.Array":
    """``{"FIELD": key}`` as canonical JSON per key; vectorised when no key needs escaping (a byte
    lookup over the keys' data, :func:`~annover.model.canonical.needs_json_escape`)."""
    if C.needs_json_escape(keys) or C.needs_json_escape(pa.array([field_name], pa.string())):
        return pa.array([C.canonical_json({field_name: k}) for k in keys.to_pylist()], pa.string())
    return pc.binary_join_element_wise('{"' + field_name + '":"', keys, '"}', "")


def first_of_each(keys: "pa.ChunkedArray", table: "pa.Table") -> "pa.Array":
    """The distinct task keys of a key-sorted table, in order, as one array."""
    return C.single_chunk(keys.filter(pa.array(C.first_of_runs(table, ["task_key"]))))
