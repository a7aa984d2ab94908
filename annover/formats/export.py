"""Old home of the export writers, now :mod:`annover.formats.write` (kept until callers move)."""

from __future__ import annotations

from annover.formats.write import csv, json_min, jsonl, label_studio, parquet, render

__all__ = ["csv", "json_min", "jsonl", "label_studio", "parquet", "render"]
