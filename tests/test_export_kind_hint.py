"""A training format that cannot hold a version's labels is refused with a hint that names only
formats which can: on real Label Studio exports (audio, text, image) of the shared corpus."""

from __future__ import annotations

import re

import pytest

from .conftest import run_cli, shared_corpus

LS = shared_corpus("label-studio")
FORMATS = {"coco", "yolo", "voc", "conll", "hf", "csv", "parquet", "json-min", "jsonl", "label-studio"}


def _hinted(stderr: str) -> set[str]:
    hint = stderr.split(" — ", 1)[1]
    return {f for f in FORMATS if re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", hint)}


@pytest.mark.parametrize("export, refused", [
    ("fe_audio_regions", ["coco", "yolo", "voc", "conll"]),
    ("fe_mixed_controls", ["coco", "yolo", "voc"]),
    ("sdk_polygons", ["conll"]),
])
def test_each_format_hinted_takes_the_labels(repo, tmp_path, export, refused):
    repo.snapshot(str(LS / f"{export}.json"), config=str(LS / f"{export}.xml"), message=export)
    for fmt in refused:
        p = run_cli("export", "--format", fmt, "--out", str(tmp_path / f"no-{fmt}"), cwd=repo.root)
        assert p.returncode == 2 and p.stderr.startswith("Error: "), (fmt, p.stderr)
        hinted = _hinted(p.stderr)
        assert hinted and not hinted & set(refused), (fmt, p.stderr)
        for other in sorted(hinted - {"label-studio"}):  # each one named is written
            q = run_cli("export", "--format", other, "--out", str(tmp_path / f"{fmt}-{other}"), "-q", cwd=repo.root)
            assert q.returncode == 0, (fmt, other, q.stderr)
