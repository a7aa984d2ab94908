"""Region keys that carry no meaning, made equal before two tables are paired by key.

A row's region key is the tool's result id where the input kept one (``ID/control``), else a
hash of its content (``~...``: Label Studio's CSV export, JSON-MIN, COCO...). Two such keys of
the same result differ though nothing the annotator did changed: the same export read as JSON
and as CSV, or a classification re-answered by a tool that gives each result a new id. A
classification's result id means nothing to its user (nothing links to it), and a content hash
says only that the input had no id. So a row of one side with no row of its key on the other
takes the key of a row of the other side of the same answer with the same content (control,
target, type, value, region attributes), one to one, where that content is no region (a value
that cannot be a shape: :data:`annover.diffing.match.MAY_BE_SHAPE`) or either key is a content
hash. Two regions (spans, boxes) that both carry a tool id keep them: a region drawn again is a
new region to what links to it (relations, per-region answers), and the diff says
``region id changed``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from annover._lazy import lazy
from annover.diffing import columns as K
from annover.diffing import pairing
from annover.diffing.match import MAY_BE_SHAPE
from annover.diffing.sources import Spec

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    np = lazy("numpy")
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")

#: the columns of a result whose equality makes two keys of it the same key
CONTENT = ("from_name", "to_name", "type", "value", "region")


def _codes(tables: "list[pa.Table]", names: "tuple[str, ...]", start: "np.ndarray | None" = None) -> "np.ndarray":
    """One integer per row of the tables end to end: equal exactly when ``names`` (and ``start``) are."""
    code = np.zeros(sum(t.num_rows for t in tables), np.int64) if start is None else start
    for name in names:
        code = pairing.then(code, pairing.joined_column(tables, name))
    return code


def _text(values: "pa.ChunkedArray") -> "pa.ChunkedArray":
    """A text column as plain strings (a dictionary's decoded)."""
    return values.cast(pa.string()) if pa.types.is_dictionary(values.type) else values


def _ranked(code: "np.ndarray") -> "np.ndarray":
    """Each row's rank among the rows of its ``code`` (0 for the first), in row order."""
    order = np.argsort(code, kind="stable")
    sorted_ = code[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_[1:] != sorted_[:-1]))) if len(code) else order
    rank = np.arange(len(code)) - np.repeat(starts, np.diff(np.append(starts, len(code))))
    out = np.empty(len(code), np.int64)
    out[order] = rank
    return out


def _tool_ids(t: "pa.Table") -> bool:
    """Whether a row of ``t`` may carry a tool's result id (a region key not a content hash, ``~...``);
    of a dictionary column, any value of its dictionaries."""
    col = t.column("region_key")
    arrays = [c.dictionary for c in col.chunks] if pa.types.is_dictionary(col.type) else col.chunks
    return any(pc.any(pc.and_(pc.invert(pc.starts_with(x, "~")), pc.not_equal(x, ""))).as_py() for x in arrays)


def same_ids(spec: Spec, a: "pa.Table", b: "pa.Table") -> "tuple[pa.Table, pa.Table]":
    """``a`` and ``b``, B's rows given the keys of A's rows they are the same result as (see the
    module); the tables themselves when no key changes."""
    if not a.num_rows or not b.num_rows or not (_tool_ids(a) or _tool_ids(b)):
        return a, b  # two content hashes of one content are one key (the readers derive it so): nothing to pair
    tables, n = [a, b], a.num_rows
    answer = _codes(tables, ("task_key", spec.answer_key))
    row = _codes(tables, ("region_key",), answer.copy())
    keys = _text(pairing.joined_column(tables, "region_key"))
    lone = np.ones(len(row), bool)  # a row with no row of its key on the other side
    lone[:n] = pairing.positions(row[:n], row[n:]) < 0
    lone[n:] = pairing.positions(row[n:], row[:n]) < 0
    lone &= K.np_bool(pc.not_equal(keys, ""))
    if not lone[:n].any() or not lone[n:].any():
        return a, b
    at = np.flatnonzero(lone)
    on_a = at < n
    lone_rows = [a.take(pa.array(at[on_a])), b.take(pa.array(at[~on_a] - n))]
    content = np.unique(_codes(lone_rows, CONTENT, answer[at]), return_inverse=True)[1].reshape(-1)
    content = content * (len(at) + 1) + _ranked(content * 2 + ~on_a)  # the k-th of a content with the k-th
    pos = pairing.positions(content[~on_a], content[on_a])  # B's lone rows -> A's lone row of that content
    hit = pos >= 0
    ib, ia = at[~on_a][hit], at[on_a][pos[hit]]
    values = _text(pairing.joined_column(tables, "value"))
    plain = ~K.np_bool(pc.match_substring_regex(values.take(pa.array(ia)), MAY_BE_SHAPE.pattern))
    hashed = (K.np_bool(pc.starts_with(keys.take(pa.array(ia)), "~"))
              | K.np_bool(pc.starts_with(keys.take(pa.array(ib)), "~")))
    ok = plain | hashed
    if not ok.any():
        return a, b
    idx = np.arange(n, n + b.num_rows)
    idx[ib[ok] - n] = ia[ok]
    col = b.schema.get_field_index("region_key")
    field = b.schema.field(col)
    return a, b.set_column(col, field, keys.take(pa.array(idx)).cast(field.type))
