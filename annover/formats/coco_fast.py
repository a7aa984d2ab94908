"""COCO straight to canonical tables, a column at a time: the same tables (hence the same
snapshot ids) as reading the file as Label Studio tasks (:func:`annover.formats.coco.read`
then :func:`annover.formats.train.to_tables`), at the cost of parsing the file.

The file is parsed with orjson where it is installed (DVC brings it). Plain boxes (a ``bbox``
and nothing :mod:`annover.formats.coco` would keep or turn into another shape) become
columns: their percent values rounded as :func:`annover.formats.images.pct` rounds, written as
canonical JSON writes them, and their region keys hashed from that text. Every other
annotation goes through the same function as the general path. Anything the fast path does
not expect (a parse error, a bad record, a config to check against) returns None, and the
general path reads the file, so errors and their wording are those of one reader.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from annover._lazy import lazy
from annover.errors import InputError
from annover.formats.detect import take_parsed
from annover.formats.coco import (ID_TYPES, REBUILT_FIELDS, bool01, box_disagreements, coco_config, keypoint_names_of,
                                  own_keypoint_names, regions_of, repeated_categories, shared_ids)
from annover.formats.images import MAX_SIDE
from annover.formats.label_studio import LS_URL_PREFIX, REGION_FIELDS, unprefixed_stems
from annover.formats.ls_results import labels_of
from annover.formats.tables import Tables, empty, finish
from annover.formats.text import fits_64_bits, json_bytes
from annover.formats.train import CONTROL, NOT_XML, stem_key, unlabeled_note
from annover.model.canonical import canonical_json, replaced
from annover.store import duck

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import orjson
else:
    orjson = lazy("orjson")  # JSON parsed at C speed
    np = lazy("numpy")
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")

__all__ = ["read_tables", "round_exact", "json_numbers"]

_PLAIN = (str, int, bool, type(None))
_json_str = json.encoder.encode_basestring  # what json.dumps(s, ensure_ascii=False) writes for a string
_BOX_HEAD = '["label","image","rectanglelabels",'


class _Other(Exception):
    """The file needs the general reader."""


def _load(path: Path) -> Any:
    doc = take_parsed(path)  # parsed already when the format was recognised
    if doc is not None:
        return doc
    try:
        data = json_bytes(path)
        if fits_64_bits(data):  # else an integer beyond 64 bits would be read as a float
            return orjson.loads(data)
    except (orjson.JSONDecodeError, OSError):  # the general reader says what is wrong
        pass
    raise _Other


_SPLIT = 134217729.0  # 2**27 + 1: Veltkamp's split of a double into two halves


def _split(a: "np.ndarray") -> tuple["np.ndarray", "np.ndarray"]:
    c = _SPLIT * a
    hi = c - (c - a)
    return hi, a - hi


def scaled_integers(v: "np.ndarray", scale: float) -> tuple["np.ndarray", "np.ndarray"]:
    """(n, odd): n is the integer nearest to the exact product ``v * scale`` (ties to even), as
    Python's ``round`` and ``format`` round the decimal digits of a double; ``odd`` marks the values
    (beyond 2**52, not finite) left to Python. Where the rounded product is a half, its rounding
    error (Dekker's exact product) says on which side the exact product lies."""
    y = v * scale
    n = np.rint(y)
    half = np.flatnonzero(np.abs(y - n) == 0.5)
    if half.size:
        a, yh = v[half], y[half]
        ah, al = _split(a)
        bh, bl = _split(np.full(half.size, scale))
        err = ((ah * bh - yh) + ah * bl + al * bh) + al * bl  # v * scale == y + err, exactly
        low = np.floor(yh)
        n[half] = np.where(err > 0, low + 1, np.where(err < 0, low, n[half]))
    return n, ~(np.abs(y) < 2.0 ** 52)


def round_exact(v: "np.ndarray", digits: int) -> "np.ndarray":
    """``round(x, digits)`` of each value, as Python rounds (correctly, half to even)."""
    scale = 10.0 ** digits
    n, odd = scaled_integers(v, scale)
    out = n / scale
    for i in np.flatnonzero(odd).tolist():
        out[i] = round(float(v[i]), digits)
    return out


def pct_array(v: "np.ndarray") -> "np.ndarray":
    """:func:`annover.formats.images.pct` of each value."""
    out = round_exact(v, 5)
    out[out == 0] = 0.0
    return out


def json_numbers(v: "np.ndarray") -> "pa.Array":
    """Each value as canonical JSON writes it: integral values as integers, others as ``repr``."""
    integral = (v == np.floor(v)) & (np.abs(v) < 2.0 ** 53)
    ints = pc.cast(pa.array(np.where(integral, v, 0).astype(np.int64)), pa.string())
    floats = pc.cast(pa.array(v), pa.string())
    out = pc.if_else(pa.array(integral), ints, floats)
    odd = np.asarray(pc.match_substring(floats, "e")) | ((np.abs(v) < 1e-4) & ~integral)
    if odd.any():  # Arrow writes 1e-05 as 0.00001 and some large values with an exponent
        texts = out.to_pylist()
        for i in np.flatnonzero(odd).tolist():
            texts[i] = repr(float(v[i]))
        out = pa.array(texts, pa.string())
    return out


def _cats(doc: dict) -> tuple[dict, list[str], list[str]]:
    cats: dict[Any, dict] = {}
    for c in doc.get("categories") or []:
        if not isinstance(c, dict) or type(c.get("id")) not in ID_TYPES or type(c.get("name")) not in (str, int) \
                or c["id"] in cats or NOT_XML.search(str(c["name"])):
            raise _Other  # the general reader says what is wrong
        cats[c["id"]] = c
    if len({str(c["name"]) for c in cats.values()}) < len(cats):
        raise _Other
    names = [str(c["name"]) for _, c in sorted(cats.items(), key=lambda kv: str(kv[0]).zfill(12))]
    try:
        kp_names = keypoint_names_of(cats, Path())
    except InputError:  # the general reader names the file
        raise _Other from None
    return cats, names, kp_names


def _images(doc: dict) -> tuple[dict, list[dict]]:
    index: dict[Any, int] = {}
    ims = doc["images"]
    for i, im in enumerate(ims):
        if not isinstance(im, dict) or type(im.get("id")) not in ID_TYPES or type(im.get("file_name")) is not str \
                or not im["file_name"] or im["id"] in index or CONTROL.search(im["file_name"]):
            raise _Other
        index[im["id"]] = i
    return index, ims


def _size(im: dict) -> tuple[int, int]:
    w, h = im.get("width"), im.get("height")
    if type(w) is not int or type(h) is not int or not 0 < w <= MAX_SIDE or not 0 < h <= MAX_SIDE:
        raise _Other
    return w, h


class _Rows:
    """Rows gathered in one pass: plain boxes as columns, other regions as canonical row dicts."""

    def __init__(self, n_images: int) -> None:
        self.pos = [0] * n_images
        self.b_img: list[int] = []
        self.b_cat: list[int] = []
        self.b_pos: list[int] = []
        self.b_box: list[Any] = []
        self.b_area: list[Any] = []
        self.other: list[dict] = []
        self.kinds: set[str] = set()
        self.sizes: dict[int, tuple[int, int]] = {}  # image slot -> (width, height), checked
        self.taken: dict[int, set[str]] = {}  # image slot -> the keypoints' parent ids given (coco.regions_of)


def _all_plain(anns: list, index: dict, cat_index: dict, ims: list[dict]) -> _Rows | None:
    """The rows when every annotation is a plain box (a list at a time), else None."""
    plain = [type(b := a.get("bbox")) is list and len(b) == 4 and a.keys() <= REBUILT_FIELDS and not a.get("segmentation")
             and not a.get("iscrowd") and not a.get("keypoints") for a in anns]
    if not all(plain):
        return None
    rows = _Rows(len(ims))
    rows.b_img = list(map(index.get, [a.get("image_id") for a in anns]))
    rows.b_cat = list(map(cat_index.get, [a.get("category_id") for a in anns]))
    if None in rows.b_img or None in rows.b_cat:
        raise _Other
    for slot in set(rows.b_img):
        rows.sizes[slot] = _size(ims[slot])
    rows.b_box = [v for a in anns for v in a["bbox"]]
    rows.b_area = [a.get("area") for a in anns]
    slots = np.array(rows.b_img, dtype=np.int64)
    order = np.argsort(slots, kind="stable")
    ranked = slots[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]]) if len(ranked) else np.zeros(0, np.int64)
    first = np.repeat(starts, np.diff(np.r_[starts, len(ranked)]))
    pos = np.empty(len(slots), dtype=np.int64)
    pos[order] = np.arange(len(slots)) - first
    rows.b_pos = pos  # type: ignore[assignment]
    return rows


def _gather(doc: dict, path: Path, cats: dict, index: dict, ims: list[dict]) -> _Rows:
    cat_index = {k: i for i, k in enumerate(cats)}
    plain = _all_plain(doc.get("annotations") or [], index, cat_index, ims)
    if plain is not None:
        return plain
    rows = _Rows(len(ims))
    sizes = rows.sizes
    for i, a in enumerate(doc.get("annotations") or []):
        if type(a) is not dict:
            raise _Other
        slot = index.get(a.get("image_id"))
        cid = a.get("category_id")
        if slot is None or cid not in cats:
            raise _Other
        size = sizes.get(slot) or sizes.setdefault(slot, _size(ims[slot]))
        kps = a.get("keypoints")
        cat = cats[cid]
        if (a.keys() <= REBUILT_FIELDS and not a.get("segmentation") and not ("iscrowd" in a and bool01(a["iscrowd"]))
                and not (isinstance(kps, list) and kps and (any(kps[2::3]) or
                                                            len(kps) != 3 * len(own_keypoint_names(cat))))
                and type(a.get("bbox")) is list and len(a["bbox"]) == 4):
            rows.b_img.append(slot)
            rows.b_cat.append(cat_index[cid])
            rows.b_pos.append(rows.pos[slot])
            rows.pos[slot] += 1
            rows.b_box += a["bbox"]
            rows.b_area.append(a.get("area"))
            continue
        where = f"{path}: annotation {i}" + (f" (id {a['id']})" if "id" in a else "")
        items = regions_of(a, size[0], size[1], str(cat["name"]), own_keypoint_names(cat), where,
                           rows.taken.setdefault(slot, set()))
        for item in items:
            rows.other.append(_item_row(item, slot, rows.pos[slot]))
            rows.pos[slot] += 1
            rows.kinds.add(item["type"])
    return rows


def _item_row(item: dict, slot: int, position: int) -> dict:
    """The canonical row of one result item, as the Label Studio reader makes it."""
    rest = {k: v for k, v in item.items() if k not in REGION_FIELDS}
    value = canonical_json(item["value"])
    region = canonical_json(rest) if rest else None
    rid = item.get("id")
    if rid is not None and str(rid) != "":
        key = f"{rid}/{item['from_name']}"
    else:
        text = canonical_json([item["from_name"], item["to_name"], item["type"], value, region])
        key = "~" + hashlib.sha256(text.encode()).hexdigest()[:12]
    return {"slot": slot, "region_key": key, "from_name": item["from_name"], "to_name": item["to_name"],
            "type": item["type"], "labels": labels_of(item), "value": value, "region": region, "position": position}


def _box_columns(rows: _Rows, ims: list[dict], names: list[str]) -> dict[str, Any]:
    """The plain boxes' columns (slot, region_key, value, region, labels, position)."""
    n = len(rows.b_img)
    if not set(map(type, rows.b_box)) <= {int, float} or not set(map(type, rows.b_area)) <= {int, float, type(None)}:
        raise _Other
    box = np.array(rows.b_box, dtype=np.float64).reshape(n, 4)
    if not np.isfinite(box).all() or (box[:, 2:] < 0).any():
        raise _Other
    slot = np.array(rows.b_img, dtype=np.int64)
    wh = np.zeros((len(ims), 2), dtype=np.int64)
    for i, s in rows.sizes.items():
        wh[i] = s
    w, h = wh[slot, 0], wh[slot, 1]
    x, y, bw, bh = (json_numbers(pct_array(box[:, j] / s * 100)) for j, s in ((0, w), (1, h), (2, w), (3, h)))
    label_json = pa.array([_json_str(nm) for nm in names], pa.string()).take(pa.array(rows.b_cat, pa.int64()))
    value = pc.binary_join_element_wise('{"height":', bh, ',"rectanglelabels":[', label_json, '],"rotation":0,"width":',
                                        bw, ',"x":', x, ',"y":', y, "}", "")
    ws, hs = pc.cast(pa.array(w), pa.string()), pc.cast(pa.array(h), pa.string())
    region = pc.binary_join_element_wise('{"image_rotation":0,"original_height":', hs, ',"original_width":', ws, "}", "")
    area = np.array([np.nan if a is None else a for a in rows.b_area], dtype=np.float64)
    kept = np.flatnonzero(~np.isnan(area) & ~(np.abs(area - box[:, 2] * box[:, 3]) <= 0.01))
    if kept.size:
        region = _with_area(region, kept.tolist(), rows.b_area, w, h)
    # the hash's input, canonical JSON of [from_name, to_name, type, value, region], built as
    # escaped text directly (the same bytes as json.dumps of the two texts, without a pass over them)
    label_q = pa.array([_json_str(_json_str(nm))[1:-1] for nm in names], pa.string()).take(
        pa.array(rows.b_cat, pa.int64()))
    value_q = pc.binary_join_element_wise('"{\\"height\\":', bh, ',\\"rectanglelabels\\":[', label_q,
                                          '],\\"rotation\\":0,\\"width\\":', bw, ',\\"x\\":', x, ',\\"y\\":', y,
                                          '}"', "")
    region_q = _quoted(region) if kept.size else pc.binary_join_element_wise(
        '"{\\"image_rotation\\":0,\\"original_height\\":', hs, ',\\"original_width\\":', ws, '}"', "")
    keys = region_keys(pc.binary_join_element_wise(_BOX_HEAD, value_q, ",", region_q, "]", ""))
    labels = pa.ListArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32)),
                                      pa.array(names, pa.string()).take(pa.array(rows.b_cat, pa.int64())))
    return {"slot": slot, "region_key": keys, "value": value, "region": region, "labels": labels,
            "position": np.array(rows.b_pos, dtype=np.int32)}


def _quoted(texts: "pa.Array") -> "pa.Array":
    """Each text as a JSON string (what json.dumps writes), for texts without control characters."""
    esc = pc.replace_substring(pc.replace_substring(texts, "\\", "\\\\"), '"', '\\"')
    return pc.binary_join_element_wise('"', esc, '"', "")


def region_keys(texts: "pa.Array") -> "pa.Array":
    """``~`` and the first 12 hex digits of each text's SHA-256 (a region keyed by its content),
    hashed by DuckDB a column at a time."""

    con = duck.cursor()
    try:
        con.register("region_texts", pa.table({"t": texts}))
        return duck.fetch(con, "SELECT '~' || substr(sha256(t), 1, 12) AS k FROM region_texts").column("k") \
            .combine_chunks()
    finally:
        con.close()


def _with_area(region: "pa.Array", at: list[int], areas: list[Any], w: "np.ndarray", h: "np.ndarray") -> "pa.Array":
    """``region`` with the boxes ``at`` keeping their COCO area (one that is not the box's
    width x height, such as a mask's), as canonical JSON."""
    vals = [areas[i] for i in at]
    num = np.array(vals, dtype=np.float64)
    if not np.isfinite(num).all() or any(type(a) is int and abs(a) >= 2 ** 53 for a in vals):
        texts = region.to_pylist()  # canonical_json refuses what is not finite; huge integers stay exact
        for i in at:
            texts[i] = canonical_json({"coco": {"area": areas[i]}, "image_rotation": 0,
                                       "original_height": int(h[i]), "original_width": int(w[i])})
        return pa.array(texts, pa.string())
    idx = np.asarray(at, dtype=np.int64)
    kept = pc.binary_join_element_wise('{"coco":{"area":', json_numbers(num), '},"image_rotation":0,"original_height":',
                                       pc.cast(pa.array(h[idx]), pa.string()), ',"original_width":',
                                       pc.cast(pa.array(w[idx]), pa.string()), "}", "")
    return replaced(region, idx, kept)


def _task_columns(ims: list[dict]) -> tuple["pa.Array", "pa.Array"]:
    """(task key, data JSON) per image: ``stem_key(file_name)`` and ``{"coco_image": .., "image": ..}``."""
    fast = _task_columns_alike(ims)
    if fast is not None:
        return fast
    keys, data = [], []
    for im in ims:
        fn = str(im["file_name"])
        rest = {k: v for k, v in im.items() if k != "file_name"}
        keys.append(stem_key(fn))
        if all(type(v) in _PLAIN for v in rest.values()):
            data.append(json.dumps({"coco_image": rest, "image": fn}, sort_keys=True, separators=(",", ":"),
                                   ensure_ascii=False))
        else:
            data.append(canonical_json({"image": fn, "coco_image": rest}))
    return pa.array(keys, pa.string()), pa.array(data, pa.string())


_NEEDS_ESCAPE = r'["\\\x00-\x1f]'  # what json.dumps escapes (ensure_ascii=False)


def _json_column(values: list) -> "pa.Array | None":
    """The JSON text of each value, for a column of integers or of text that needs no escapes; else None."""
    types = set(map(type, values))
    if types == {int}:
        return pc.cast(pa.array(values, pa.int64()), pa.string())
    if types == {str}:
        arr = pa.array(values, pa.string())
        if pc.any(pc.match_substring_regex(arr, _NEEDS_ESCAPE)).as_py():
            return None
        return pc.binary_join_element_wise('"', arr, '"', "")
    return None


def _task_columns_alike(ims: list[dict]) -> tuple["pa.Array", "pa.Array"] | None:
    """:func:`_task_columns` a column at a time, for images with the same fields of integers and plain text."""
    first = ims[0].keys() if ims else None
    if first is None or not all(im.keys() == first for im in ims):
        return None
    cols: dict[str, "pa.Array"] = {}
    for k in sorted(first):
        col = _json_column([im[k] for im in ims])
        if col is None:
            return None
        cols[k] = col
    if {type(im["file_name"]) for im in ims} != {str}:
        return None
    parts: list[Any] = ['{"coco_image":{']
    for i, k in enumerate(k for k in cols if k != "file_name"):
        parts += [("," if i else "") + json.dumps(k, ensure_ascii=False) + ":", cols[k]]
    data = pc.binary_join_element_wise(*parts, '},"image":', cols["file_name"], "}", "")
    names = pc.utf8_slice_codeunits(cols["file_name"], 1, -1)
    base = pc.struct_field(pc.extract_regex(names, r"(?P<b>[^/]*)$"), "b")
    stem = pc.struct_field(pc.extract_regex(base, r"^(?P<s>.+)\.[^.]*$"), "s")
    return pc.coalesce(stem, base), data


def _annotations(rows: _Rows, ims: list[dict], names: list[str], task_keys: "pa.Array") -> "pa.Table":
    cols = _box_columns(rows, ims, names) if rows.b_img else None
    other = rows.other
    used = set(rows.b_img) | {r["slot"] for r in other}
    blank = [i for i in range(len(ims)) if i not in used]
    slot = np.concatenate([cols["slot"] if cols else np.zeros(0, np.int64),
                           np.array([r["slot"] for r in other] + blank, dtype=np.int64)])
    nb = len(rows.b_img)

    def col(name: str, box_value: Any, typ: "pa.DataType", blank_value: Any = None) -> "pa.Array":
        tail = pa.array([r[name] for r in other] + [blank_value] * len(blank), typ)
        if not nb:
            return tail
        head = box_value if isinstance(box_value, pa.Array) else pa.array(box_value, typ)
        return pa.concat_arrays([head.cast(typ), tail])

    keys = col("region_key", cols["region_key"] if cols else None, pa.string(), "")
    table = pa.table({
        "task_key": task_keys.take(pa.array(slot)),
        "annotation_key": pa.repeat(pa.scalar("-#0"), len(slot)) if len(slot) else pa.array([], pa.string()),
        "region_key": keys,
        "from_name": col("from_name", _repeat("label", nb), pa.string()),
        "to_name": col("to_name", _repeat("image", nb), pa.string()),
        "type": col("type", _repeat("rectanglelabels", nb), pa.string()),
        "labels": col("labels", cols["labels"] if cols else None, pa.list_(pa.string())),
        "value": col("value", cols["value"] if cols else None, pa.string()),
        "region": col("region", cols["region"] if cols else None, pa.string()),
        "position": col("position", cols["position"] if cols else None, pa.int32(), -1),
    })
    return _dedupe(table, slot)


def _repeat(text: str, n: int) -> "pa.Array | None":
    """A column of ``n`` times ``text`` (None for none)."""
    return pa.repeat(pa.scalar(text), n) if n else None


def _dedupe(table: "pa.Table", slot: "np.ndarray") -> "pa.Table":
    """Region keys repeated in one answer get ``#1``, ``#2``... in result order, as the Label Studio reader gives them."""
    counts = pa.table({"s": slot, "k": table.column("region_key")}).group_by(["s", "k"]).aggregate([("s", "count")])
    if not len(counts) or pc.max(counts.column("s_count")).as_py() <= 1:
        return table
    keys = table.column("region_key").to_pylist()
    pos = table.column("position").to_pylist()
    count: dict[tuple[int, str], int] = {}
    out = list(keys)
    for i in sorted(range(len(keys)), key=lambda i: (slot[i], pos[i])):
        if keys[i] == "":
            continue
        k = (int(slot[i]), keys[i])
        n = count.get(k, 0)
        count[k] = n + 1
        if n:
            out[i] = f"{keys[i]}#{n}"
    return table.set_column(table.schema.get_field_index("region_key"), "region_key", pa.array(out, pa.string()))


def read_tables(path: Path, fmt: str) -> tuple[Tables, str] | None:
    """(canonical tables, generated config) of the COCO file ``path``; None when the general
    reader must read it (see the module)."""
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # huge values overflow: left to Python (scaled_integers)
            return _read_tables(path, fmt)
    except (_Other, InputError, TypeError, ValueError, KeyError, AttributeError, OverflowError):
        return None  # the general reader reads it, and says what is wrong


def _read_tables(path: Path, fmt: str) -> tuple[Tables, str]:
    doc = _load(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list) or \
            not isinstance(doc.get("annotations", []), list):
        raise _Other
    doc, warnings = repeated_categories(doc, path)
    cats, names, kp_names = _cats(doc)
    index, ims = _images(doc)
    rows = _gather(doc, path, cats, index, ims)
    keys_arr, data = _task_columns(ims)
    if pc.any(pc.match_substring_regex(keys_arr, LS_URL_PREFIX)).as_py():
        keys_arr = pa.array(unprefixed_stems(keys_arr.to_pylist()), pa.string())
    if pc.count_distinct(keys_arr).as_py() < len(keys_arr):  # images sharing a name: the general reader
        raise _Other
    source = str(path)
    tasks = finish(pa.table({"task_key": keys_arr, "data": data}), "tasks", source)
    labels = [str(c["name"]) for c in cats.values()]  # in the order rows.b_cat counts them
    if rows.b_img or rows.other or not ims:
        anns = finish(_annotations(rows, ims, labels, keys_arr), "annotations", source)
    else:  # no annotation in any image: images not labeled yet, tasks without answers (see train.unlabeled)
        anns, warnings = empty("annotations"), [*warnings, unlabeled_note(path, len(ims), "annotation")]
    kinds = rows.kinds | ({"rectanglelabels"} if rows.b_img else set())
    preds = empty("predictions")
    warnings += shared_ids(path, doc.get("annotations") or []) + box_disagreements(path, doc.get("annotations") or [])
    return Tables(tasks, anns, preds, str(fmt), warnings), coco_config(doc, cats, names, kinds, kp_names, path)
