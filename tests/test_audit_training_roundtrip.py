"""Training formats as a user who trains lives with them: a corpus sample snapshotted, exported,
and the export read back.

Real data: the shared corpus's raccoon sample (labelImg VOC XML, ``voc_raccoon_labelimg``) and
flair's fashion CoNLL fixture (``conll_flair_fashion.conll``: one sentence without a span).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import git, shared_corpus
from .test_cli import invoke

CORPUS = shared_corpus("formats")


def _version_of(source: Path) -> str:
    code, out, err = invoke("snapshot", "--from", str(source), "-m", "in", "-q")
    assert code == 0, err
    return out.strip()


@pytest.mark.parametrize("sample, key", [
    ("voc_raccoon_labelimg", []),  # HEAD's key, stem:data.image, which the CSV has no column for
    ("voc_raccoon_labelimg", ["--key", "auto"]),  # its task_key column
    ("conll_flair_fashion.conll", []),  # a sentence without a span: a row without from_name
])
def test_own_csv_export_is_refused_not_misread(repo, sample, key):
    """annover's ``--format csv`` export is not read back as its table (README: CSV cannot tell an
    empty text from a missing one). Was: read as flat rows, the export's columns became task data
    and each box a Choices answer of its label (exit 0, a version of garbage), or refused with a
    hint beside the point ('add a task_key column' to a file that has one; "control ''")."""
    head = _version_of(CORPUS / sample)
    code, _, err = invoke("export", "HEAD", "--format", "csv", "--out", "v1.csv", "-q")
    assert code == 0, err
    code, out, err = invoke("snapshot", "--from", "v1.csv", "-m", "again", *key)
    assert code == 3, (out, err)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "v1.csv" in lines[0] and "--format csv" in lines[0] and "parquet" in lines[0], lines[0]
    assert git("tag", cwd=repo.root).split() == ["v1"]  # nothing written
    code, out, err = invoke("snapshot", "--from", str(CORPUS / sample), "-m", "again")
    assert code == 0 and "nothing changed" in (out + err) and head, (out, err)
