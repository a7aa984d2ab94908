"""Which training format a path holds, for ``annover snapshot --from PATH`` without ``--format``.

- a COCO file: a ``.json`` file holding one object with ``images``, ``annotations`` and
  ``categories`` lists, or ``images`` records (with a ``file_name``) and neither or one of the
  others (images not labeled yet); a Label Studio export is a list of tasks, or an object with
  ``tasks`` or ``data``;
- a YOLO folder: ``data.yaml`` (``dataset.yaml``, ``data.yml``) or ``classes.txt``, and label
  files under ``labels/`` (or Roboflow's ``train/labels/``, ``valid/labels/``, ``test/labels/``);
  or Darknet's ``obj.names`` and label files in its folders (``obj_train_data/``, ``obj/``),
  or, with no label file, an ``images/`` folder (``train/images/``...) or ``sizes.json``: images
  not labeled yet;
  ``yolo-obb`` when ``data.yaml`` says ``task: obb``. Lines of 8 numbers with no ``task`` are
  either a 4-point polygon or an oriented box: that is asked;
- a Pascal VOC folder: ``*.xml`` files (or in ``Annotations/``, ``annotations/``) whose root
  is ``<annotation>``; also one such ``.xml`` file;
- a Hugging Face ``datasets`` folder: ``dataset_dict.json``, ``state.json`` or ``dataset_info.json``
  (what ``save_to_disk`` writes); also an ``.arrow`` file of a dataset, and a ``.parquet`` file
  ``datasets`` wrote (``to_parquet``, the hub's files) whose features give labels (a ``ClassLabel``)
  or annover's own export (its ``_annover`` column): the features are in the schema's metadata;
- a CoNLL file (``.conll``, ``.iob``, ``.bio``, ``.conllu``, CoNLL-2003's ``.train``, ``.testa``, ``.testb``;
  a ``.txt`` or ``.tsv`` where): lines of at least two columns whose last column is a tag (``O``, ``B-X``,
  ``I-X``, ``E-X``, ``S-X``), blank lines between sentences, ``#`` lines aside.

A path that is none of them is left to the other readers (None), except a folder, which only
the training formats read: a folder that is none of them, or more than one, is a one-line
error naming what was found.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from annover._lazy import lazy
from annover._runtime import no_gc
from annover.errors import InputError
from annover.formats import Format
from annover.formats.folder import Folder
from annover.formats.text import fail, fits_64_bits, json_bytes, read_json

if TYPE_CHECKING:  # pragma: no cover
    import orjson
    import pyarrow as pa
    import pyarrow.parquet as pq

    from annover.formats import hf
else:
    hf = lazy("annover.formats.hf")  # its marks and metadata: only for a Parquet or HF file (it imports yolo, conll)
    orjson = lazy("orjson")  # JSON parsed at C speed
    pa = lazy("pyarrow")
    pq = lazy("pyarrow.parquet")

__all__ = ["COCO_HINT", "COCO_KEYS", "coco_export_file", "coco_problem", "detect_train", "take_parsed", "voc_files"]

_YAMLS = ("data.yaml", "dataset.yaml", "data.yml")
#: Darknet's class names (CVAT's "YOLO 1.1" export, Roboflow's "YOLO Darknet"), read as classes.txt
_DARKNET = "obj.names"
_NAMES_TXT = ("classes.txt", _DARKNET)
#: suffixes that name CoNLL alone: such a file is read as CoNLL, and its reader says what is wrong
#: (CoNLL-2003's eng.train, eng.testa, eng.testb too: no other reader takes such a name)
_CONLL_ONLY = (".conll", ".conll03", ".iob", ".iob2", ".bio", ".conllu",
               ".train", ".testa", ".testb", ".dev", ".test")
#: and those that are CoNLL where the lines are (GermEval 2014's .tsv)
_CONLL_SUFFIXES = (*_CONLL_ONLY, ".txt", ".tsv")
_TAG = re.compile(r"^(O|[BIESLU]-\S+)$")
#: lines of a CoNLL file looked at to recognise it
_CONLL_LINES = 200


def coco_export_file(path: Path) -> Path:
    """The COCO file of Label Studio's COCO export unzipped (a folder of ``result.json`` and ``images/``,
    nothing else; the file's content is then detected as any file's); else ``path``. A ``result.json`` that
    is a link leading out of the folder is refused, as a YOLO or VOC folder's files are (:class:`Folder`)."""
    if not path.is_dir() or not (path / "result.json").is_file():
        return path
    if {p.name for p in path.iterdir()} <= {"result.json", "images"}:
        return Folder(path).own(path / "result.json")
    return path


def detect_train(path: Path) -> str | None:
    """The training format at ``path`` (a :class:`Format`), None for a file the other readers
    decide on; InputError when a folder is no training format or could be two."""
    if path.is_dir():
        return _folder(path)
    suffix = path.suffix.lower()
    if suffix == ".json" and _starts_with_object(path):
        return Format.COCO if _is_coco(path) else None
    if suffix == ".xml" and _is_voc_xml(path):
        return Format.VOC
    if suffix == ".arrow":  # a Hugging Face datasets file (a save_to_disk shard, a cache file): no other reader's
        return Format.HF
    if suffix == ".parquet" and _hf_parquet(path):
        return Format.HF
    if suffix in _CONLL_ONLY or suffix in _CONLL_SUFFIXES and _is_conll(path):
        return Format.CONLL
    return None


def _hf_parquet(path: Path) -> bool:
    """Whether ``path`` is a Parquet file ``datasets`` wrote whose features say what a flat reading
    would lose: a ``ClassLabel`` (its ids are labels by name only there; read flat, ``0`` and ``1``
    would be the labels) or annover's own export's carried column (``_annover``, found as
    :func:`~annover.formats.hf.carried_column` finds it: by its feature's mark). Other Parquet files
    (annover's own, flat rows, one whose schema cannot be read) are left to the other readers."""
    try:
        doc = hf.metadata_document(pq.read_schema(path).metadata)
    except (OSError, ValueError, pa.ArrowException):  # (a column name not UTF-8: the flat reader says so)
        return False
    features = doc["info"]["features"] if doc is not None else {}
    return any(hf.declares_class_label(f) or _marked(f) for f in features.values())


def _marked(feature: Any) -> bool:
    """Whether a feature (as ``datasets`` writes it in the metadata) is annover's carried column's."""
    said = feature.get("id") if isinstance(feature, Mapping) else None
    try:
        mark = orjson.loads(said) if isinstance(said, str) and said.startswith("{") else None
    except ValueError:
        return False
    return isinstance(mark, dict) and mark.get("annover") == hf.MARK


def _starts_with_object(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{")


#: the COCO document detection parsed, for the reader that follows: (path, mtime, size), document
_PARSED: list[tuple[tuple, Any]] = []


def _stamp(path: Path) -> tuple:
    st = path.stat()
    return str(path.resolve()), st.st_mtime_ns, st.st_size


def take_parsed(path: Path) -> Any:
    """The document detection parsed of the unchanged file ``path`` (once), else None."""
    if _PARSED and _PARSED[0][0] == _stamp(path):
        return _PARSED.pop()[1]
    _PARSED.clear()
    return None


def _parsed(path: Path) -> tuple[Any, bool]:
    """(the JSON document in ``path``, whether orjson read it): by orjson where it reads the text as the
    standard library does (:func:`fits_64_bits`: no integer beyond 64 bits, which it would make a float),
    else (or where it refuses the text) by the readers' own parser, which says what is wrong in one line."""
    try:
        data = json_bytes(path)
        if fits_64_bits(data):
            with no_gc():  # see annover._runtime.no_gc: the parse alone takes a third of the time without
                return orjson.loads(data), True
    except (ValueError, OSError):  # the text is refused (or unreadable): the readers' parser decides
        pass
    return read_json(path, "task"), False


def _is_coco(path: Path) -> bool:
    doc, by_orjson = _parsed(path)
    coco = isinstance(doc, dict) and isinstance(doc.get("images"), list) and \
        all(isinstance(doc.get(k, []), list) for k in ("annotations", "categories")) and \
        ("annotations" in doc and "categories" in doc or _images_only(doc))
    if coco and ("data" in doc or "tasks" in doc):
        raise fail(path, "could be COCO (images, annotations, categories) or Label Studio (data / tasks)",
                   "pass --format coco or --format label-studio")
    if not coco and isinstance(doc, dict) and "data" not in doc and "tasks" not in doc and \
            sum(k in doc for k in COCO_KEYS) >= 2:  # was read as Label Studio: "expected a JSON list of tasks"
        raise fail(path, f"a COCO file whose {coco_problem(doc)}", COCO_HINT + " (or pass --format label-studio)")
    _PARSED.clear()
    if coco and by_orjson:  # the COCO reader takes it instead of parsing the file again
        _PARSED.append((_stamp(path), doc))
    return coco


#: The top-level lists of a COCO file.
COCO_KEYS = ("images", "annotations", "categories")
COCO_HINT = "give a COCO JSON with the lists images, annotations, categories"


def coco_problem(doc: Any) -> str:
    """What keeps ``doc`` from being a COCO file, as the end of "a COCO file whose ...": its first list
    missing, or of another kind."""
    if not isinstance(doc, dict):
        return f"document is {type(doc).__name__}, not an object"
    for k in COCO_KEYS:
        if k not in doc and k == "images":
            return "'images' list is missing"
        if k in doc and not isinstance(doc[k], list):
            return f"'{k}' is {type(doc[k]).__name__}, not a list"
    return "'annotations' and 'categories' are missing"


def _images_only(doc: dict) -> bool:
    """A COCO file of images not labeled yet: ``images`` (records with a ``file_name``), and
    ``annotations`` or ``categories`` left out."""
    ims = doc["images"]
    return bool(ims) and all(isinstance(im, dict) and "file_name" in im for im in ims[:100])


def _is_voc_xml(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            head = f.read(2048).decode("utf-8", "replace")
    except OSError:
        return False
    head = re.sub(r"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(\[.*?\])?\s*>", "", head, flags=re.S).lstrip()
    return head.startswith("<annotation") and head[len("<annotation"):][:1] in (">", " ", "\t", "\r", "\n", "/")


def voc_files(root: Path) -> list[Path]:
    """The XML files of a VOC folder: those in ``Annotations/`` (``annotations/``) and its sub-folders
    (``Annotations/train/``), else those in the folder itself."""
    base = next((root / d for d in ("Annotations", "annotations") if (root / d).is_dir()), None)
    return sorted(base.rglob("*.xml")) if base is not None else sorted(root.glob("*.xml"))


def _voc_files(root: Path) -> list[Path]:
    return voc_files(root)[:3]


#: the label folders a YOLO folder is recognised by: Ultralytics' ``labels/`` (``labels/train``...)
#: and Roboflow's split folders (``train/labels``, ``valid/labels``, ``test/labels``)
_YOLO_LABELS = ("labels", "train/labels", "valid/labels", "val/labels", "validation/labels", "test/labels")


def _yolo_labels(root: Path) -> list[Path]:
    out: list[Path] = []
    for d in _YOLO_LABELS:
        base = root / d
        if base.is_dir() and len(out) < 50:
            out += sorted(f for f in base.rglob("*.txt") if f.name != "classes.txt")[:50 - len(out)]
    return out


def _darknet_labels(root: Path) -> list[Path]:
    """The label files of a Darknet folder (``obj.names``): beside their images in its folders
    (CVAT's ``obj_train_data/``, Roboflow's ``obj/``), not its top (``train.txt`` lists images)."""
    return sorted(f for f in root.rglob("*.txt") if f.parent != root)[:50]


def _yolo_images(root: Path) -> bool:
    """Whether ``root`` has an ``images/`` folder (Ultralytics') or a split's (Roboflow's
    ``train/images``...), or a ``sizes.json`` (annover's): with data.yaml or classes.txt and no
    label file, images not labeled yet."""
    return (root / "sizes.json").is_file() or any((root / d.replace("labels", "images")).is_dir() for d in _YOLO_LABELS)


#: the files datasets' ``save_to_disk`` writes: a DatasetDict's list of splits, a Dataset's state and info
_HF_FILES = ("dataset_dict.json", "state.json", "dataset_info.json")


def _is_hf(root: Path) -> bool:
    """Whether ``root`` is a Hugging Face ``datasets`` folder (``save_to_disk``'s)."""
    return any((root / n).is_file() for n in _HF_FILES)


def _folder(root: Path) -> str:
    if _is_hf(root):
        return Format.HF
    names = [n for n in (*_YAMLS, *_NAMES_TXT) if (root / n).is_file()]
    own = Folder(root).own  # nothing outside the folder is read, not even to recognise it
    labels = [own(f) for f in (_darknet_labels(root) if names == [_DARKNET] else _yolo_labels(root))]
    voc = [f for f in _voc_files(root) if _is_voc_xml(own(f))]
    found = []
    if names and (labels or _yolo_images(root)):
        found.append("YOLO (" + ", ".join(names) + (" and labels/)" if labels else " and images/, no labels)"))
    if voc:
        found.append(f"Pascal VOC ({voc[0].relative_to(root).as_posix()})")
    if len(found) > 1:
        raise fail(root, f"the folder could be {' or '.join(found)}", "pass --format yolo or --format voc")
    if voc:
        return Format.VOC
    if not found:
        what = ("label files under labels/ but no data.yaml or classes.txt" if labels else
                f"{names[0]} but no label files under labels/" if names else
                "no data.yaml, classes.txt, obj.names or Pascal VOC *.xml (whose root is <annotation>)")
        above = _yolo_above(root)
        raise fail(root, f"not a training-format folder: {what}",
                   f"give the YOLO folder it is in, {above} (its {above_names(above)} and labels/ are read together)"
                   if above is not None else
                   "give a YOLO folder (data.yaml or classes.txt, labels/*.txt) or a Pascal VOC folder "
                   "(Annotations/*.xml), or pass --format")
    return _yolo_kind(root, names, labels)


def _yolo_above(root: Path) -> Path | None:
    """The YOLO folder ``root`` is a folder of (``--from ds/labels``, ``ds/labels/train``, ``ds/images``): the
    nearer of its two parents with a data.yaml, classes.txt or obj.names, where ``root`` itself has none."""
    for up in list(root.absolute().parents)[:2]:
        if above_names(up):
            return up
    return None


def above_names(folder: Path) -> str:
    """The YOLO class-list files ``folder`` has, joined (empty: none)."""
    return ", ".join(n for n in (*_YAMLS, *_NAMES_TXT) if (folder / n).is_file())


def _yolo_kind(root: Path, names: list[str], labels: list[Path]) -> str:
    yaml_text = next((Folder(root).own(root / n).read_text(encoding="utf-8", errors="replace")
                      for n in names if n in _YAMLS), "")
    task = re.search(r"^task\s*:\s*['\"]?(\w+)", yaml_text, flags=re.M)
    if task and task.group(1) == "obb":
        return Format.YOLO_OBB
    if task or re.search(r"^kpt_shape\s*:", yaml_text, flags=re.M):
        return Format.YOLO
    counts = set()
    for f in labels:
        for line in f.read_text(encoding="utf-8", errors="replace").splitlines()[:100]:
            if line.strip():
                counts.add(len(line.split()) - 1)
    if counts == {8}:
        raise InputError(f"{root}: every label line has 8 numbers: 4-point polygons (YOLO segment) or oriented "
                         "boxes (YOLO OBB)", "pass --format yolo for polygons or --format yolo-obb for oriented boxes, "
                         "or add 'task: obb' to data.yaml")
    return Format.YOLO


def _is_conll(path: Path, encoding: str = "utf-8") -> bool:
    """Whether the lines of ``path`` are CoNLL; lines that are but are not UTF-8 (CoNLL-2002's files are
    Latin-1) are too, for the CoNLL reader to say how to convert them."""
    seen = 0
    try:
        with path.open(encoding=encoding) as f:
            for line in f:
                cols = line.split()
                if not cols or cols[0] == "-DOCSTART-" or cols[0].startswith("#") and not _TAG.match(cols[-1]):
                    continue  # GermEval's "#" lines name a sentence's source
                if len(cols) < 2 or not _TAG.match(cols[-1]):
                    return False
                seen += 1
                if seen >= _CONLL_LINES:
                    break
    except UnicodeDecodeError:
        return _is_conll(path, "latin-1")
    except OSError:
        return False
    return seen > 0
