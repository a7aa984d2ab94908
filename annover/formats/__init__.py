"""Readers and writers between the formats people label and train with and annover's tables.

One module per input shape (``label_studio``, ``json_min``, ``ls_csv`` (read through
``json_min``), ``flat``, ``own_parquet``, ``records``, ``predictions``), detection and dispatch
in ``read``, export writers in ``write`` (Label Studio JSON: ``ls_writer``), the training
formats (``coco``, ``yolo``, ``voc``, ``conll``, ``hf``; read by ``hf_read``) through ``training``, result checks
against the config in ``ls_results`` and ``validate``. :class:`Format` is the one list of file formats: detection, export and the
command line's choices all read it.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["EXPORT_FORMATS", "FOLDER_FORMATS", "IMAGE_FORMATS", "INPUT_FORMATS", "SCHEMES", "SCHEME_NAMES",
           "TRAIN_FORMATS", "Format"]


class Format(StrEnum):
    """A file format annover reads (``snapshot --format``) and writes (``export --format``)."""

    LABEL_STUDIO = "label-studio"  # Label Studio JSON export: a list of tasks
    JSON_MIN = "json-min"  # Label Studio JSON-MIN: one flat object per annotation
    JSONL = "jsonl"  # Label Studio tasks or flat rows, one JSON object a line
    CSV = "csv"  # Label Studio's CSV export (by its header), else flat (task key, label) rows; .tsv too
    PARQUET = "parquet"  # flat rows, or annover's own annotations table
    COCO = "coco"  # COCO JSON: boxes, polygons, RLE masks, keypoints (docs/formats.md)
    YOLO = "yolo"  # YOLO folder: detect, segment or pose labels/*.txt, data.yaml, classes.txt
    YOLO_OBB = "yolo-obb"  # YOLO oriented boxes: four corners per line
    VOC = "voc"  # Pascal VOC: one XML file per image
    CONLL = "conll"  # CoNLL-2003 / BIO: span labels on text, a token per line
    HF = "hf"  # Hugging Face datasets: a save_to_disk folder (a Dataset or a DatasetDict)


#: What ``annover snapshot --format`` accepts.
INPUT_FORMATS: tuple[str, ...] = tuple(f.value for f in Format)
#: What ``annover export --format`` writes.
EXPORT_FORMATS: tuple[str, ...] = tuple(f.value for f in Format)
#: The training formats of image annotations (a file name, a size and regions on the image).
IMAGE_FORMATS = (Format.COCO, Format.YOLO, Format.YOLO_OBB, Format.VOC)
#: The training formats (read and written through :mod:`annover.formats.training`). Here, not there, so that
#: what only asks whether a format is one does not import every training-format reader.
TRAIN_FORMATS = (Format.COCO, Format.YOLO, Format.YOLO_OBB, Format.VOC, Format.CONLL, Format.HF)
#: The formats read and written as a folder (the others as one file).
FOLDER_FORMATS = (Format.YOLO, Format.YOLO_OBB, Format.VOC, Format.HF)
#: The tag schemes a CoNLL export writes (seqeval's IOB2, IOB1, IOBES): the first where no file said one.
SCHEMES = ("bio", "iob1", "bioes")
#: The names ``--tag-scheme`` takes for each (here, so that ``annover export``'s options do not import the reader).
SCHEME_NAMES = {"bio": "bio", "iob2": "bio", "iob1": "iob1", "bioes": "bioes", "iobes": "bioes"}
