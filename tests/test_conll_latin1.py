"""A CoNLL file in Latin-1 (CoNLL-2002's Spanish and Dutch files are) named ``.txt`` or ``.tsv`` was
"unknown file type": detection read it as UTF-8 only. It is now read as CoNLL, whose reader says the
text is not UTF-8 and how to convert it; the converted file reads."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from annover.formats import conll

from .test_malformed_inputs import invoke

#: CoNLL-2002 (Spanish) style: token and tag, accented words
SENTENCES = "Sao B-LOC\nPaulo I-LOC\n( O\nBrasil B-LOC\n) O\n\nLa O\nAgencia B-ORG\nEFE I-ORG\ninformó O\nhoy O\n"


@pytest.mark.parametrize("suffix", [".txt", ".tsv", ".conll"])
def test_a_latin1_conll_file_is_told_how_to_convert_whatever_its_suffix(repo, suffix):
    latin1 = repo.root / f"esp{suffix}"
    latin1.write_bytes(SENTENCES.encode("latin-1"))
    versions = len(repo.log())
    code, out, err = invoke("snapshot", "--from", str(latin1), "-m", "x")
    assert (code, out) == (3, "")
    assert len(err.strip().splitlines()) == 1, err
    assert "not UTF-8" in err and "iconv -f latin1 -t utf-8" in err and "unknown file type" not in err, err
    assert len(repo.log()) == versions
    converted = repo.root / f"esp.utf8{suffix}"
    if shutil.which("iconv"):  # the fix the message gives, as given
        with converted.open("wb") as f:
            subprocess.run(["iconv", "-f", "latin1", "-t", "utf-8", latin1.name], cwd=repo.root, stdout=f, check=True)
    else:
        converted.write_text(latin1.read_text(encoding="latin-1"), encoding="utf-8")
    texts = [t["data"]["text"] for t in conll.read(converted).tasks]
    assert texts == [" ".join(ln.split()[0] for ln in s.splitlines()) for s in SENTENCES.strip().split("\n\n")]
