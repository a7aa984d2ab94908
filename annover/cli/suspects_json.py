"""``annover suspects --json``: the JSON :func:`annover.cli.emit_json` would write of a
:class:`annover.loop.suspects.SuspectsResult`, its items written from the result's columns by
Arrow string kernels (json's indented encoder is pure Python: ~10 s for 200,000 suspects).
Byte for byte the same text (tests/test_suspects_bulk.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from annover._lazy import lazy
from annover.cli import JSON_ALSO_ESCAPED, json_text
from annover.loop.suspects import MODEL_KINDS

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")

__all__ = ["suspects_json"]


def suspects_json(res: Any) -> str:
    """What :func:`annover.cli.emit_json` writes of ``res.to_json()``, its items written from the
    result's columns (Arrow string kernels; a Python call per distinct number and per string that
    needs an escape, not per item): json's indented encoder is pure Python, ~10 s for 200,000
    suspects."""
    head = json_text(res.to_json(items=False))
    items, reasons = res.tables()
    if not items.num_rows:
        return head
    lead = '{\n  "suspects": [],'
    assert head.startswith(lead)
    item = reasons.column("item").combine_chunks()
    n = len(item)  # an item's first reason and its last
    first = pc.not_equal(item, pa.concat_arrays([pa.array([-1], pa.int64()), item.slice(0, n - 1)]))
    last = pc.not_equal(item, pa.concat_arrays([item.slice(1), pa.array([-1], pa.int64())]))
    heads = _json_heads(items)
    body = [_json_reasons(heads, reasons.slice(i, _JSON_CHUNK), first.slice(i, _JSON_CHUNK), last.slice(i, _JSON_CHUNK))
            for i in range(0, n, _JSON_CHUNK)]
    body[0] = body[0][len(",\n"):]  # nothing before the first item
    return "".join(['{\n  "suspects": [\n', *body, "\n  ],", head[len(lead):]])


#: reasons written per Arrow array
_JSON_CHUNK = 100_000


def _json_heads(items: "pa.Table") -> "pa.Array":
    """Each item's JSON up to its first reason, at an indent of 4 (an item of the list ``suspects``);
    a region's with its ``region`` and ``where``."""
    region = items.column("region")
    is_region = pc.is_valid(region)
    return _join('    {\n      "task_key": ', _json_strings(items.column("task_key")),
                 ',\n      "control": ', _json_strings(items.column("control")),
                 _optional(is_region, ',\n      "region": ', region),
                 ',\n      "label": ', _json_strings(items.column("label")),
                 _optional(is_region, ',\n      "where": ', items.column("where")),
                 ',\n      "score": ', _json_numbers(items.column("score")), ',\n      "reasons": [\n')


def _optional(present: "pa.Array", key: str, values: Any) -> "pa.Array":
    """``key`` and the JSON string of each value where ``present``, else nothing."""
    return pc.if_else(present, _join(key, _json_strings(values)), pa.scalar("", pa.large_string()))


def _json_reasons(heads: "pa.Array", reasons: "pa.Table", first: "pa.Array", last: "pa.Array") -> str:
    """The JSON of a run of reasons, each preceded by ",\\n" (and its item's head where it is the
    item's first) and followed by its item's end where it is the last."""
    kind = reasons.column("kind")
    who_key = pc.if_else(pc.is_in(kind, value_set=pa.array(MODEL_KINDS)), '"model"', '"annotator"')
    reason = _join('        {\n          "kind": ', _json_strings(kind),
                   ',\n          "weight": ', _json_numbers(reasons.column("weight")),
                   ",\n          ", who_key, ": ", _json_strings(reasons.column("who")),
                   ',\n          "text": ', _json_strings(reasons.column("text")), "\n        }")
    lead = pc.if_else(first, _join(",\n", pc.take(heads, reasons.column("item"))), pa.scalar(",\n", pa.large_string()))
    return _concatenated(_join(lead, reason, pc.if_else(last, "\n      ]\n    }", "")))


def _join(*parts: Any) -> "pa.Array":
    """The parts (string arrays, or strings for every row) joined row by row, as 64-bit offset
    strings (no 2 GB limit)."""
    return pc.binary_join_element_wise(*(pa.scalar(p, pa.large_string()) if isinstance(p, str)
                                         else p.cast(pa.large_string()) for p in parts),
                                       pa.scalar("", pa.large_string()))


def _concatenated(text: "pa.Array | pa.ChunkedArray") -> str:
    """The strings of an Arrow string array (no nulls) one after another: its data buffers."""
    out = []
    for c in text.chunks if isinstance(text, pa.ChunkedArray) else [text]:
        _, offsets, data = c.buffers()
        at = pa.Array.from_buffers(pa.int64(), len(c) + 1, [None, offsets], offset=c.offset)
        out.append(data[at[0].as_py():at[-1].as_py()].to_pybytes().decode("utf-8") if len(c) else "")
    return out[0] if len(out) == 1 else "".join(out)


def _json_strings(col: Any) -> "pa.Array":
    """Each string as :func:`_json_text` writes it, null as ``null``: quoted as it is unless it
    holds a character json or the unsafe set escapes (those few through json)."""
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    out = _join('"', col, '"')
    need = pc.match_substring_regex(col, _NEEDS_ESCAPE)
    if pc.any(need).as_py():
        at = pc.indices_nonzero(need)
        out = pc.replace_with_mask(out, need, pa.array([json_text(v) for v in pc.take(col, at).to_pylist()],
                                                       pa.large_string()))
    return pc.fill_null(out, "null")


def _json_numbers(col: Any) -> "pa.Array":
    """Each number as :func:`_json_text` writes it (json, once per distinct value)."""
    codes = pc.dictionary_encode(col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col)
    values = pa.array([json_text(x) for x in codes.dictionary.to_pylist()], pa.string())
    return pc.take(values, codes.indices)


#: what json escapes (quote, backslash, controls) or :func:`annover.cli.emit_json` does after it,
#: as an RE2 character class
_NEEDS_ESCAPE = '[\\x{0}-\\x{1f}"\\\\' + "".join(
    c if c.isascii() and c.isprintable() else f"\\x{{{ord(c):x}}}" for c in JSON_ALSO_ESCAPED) + "]"
