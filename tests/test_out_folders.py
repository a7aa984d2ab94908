"""An ``--out`` in a folder that does not exist yet: the folders are made where the command writes
(as ``dvc get -o`` and Label Studio's converter make theirs; a DVC stage's command must make its
outputs' folders, which ``dvc repro`` removed or a fresh clone never had), and a command that fails
leaves none behind (nothing written, as the README says of every error)."""

from __future__ import annotations

import pytest

from .test_cli import invoke

#: (a command that fails after its --out was checked, the exit code), its --out in folders not made yet
FAILING = [
    (["export", "--format", "coco"], 2),  # the sample rounds label text: no COCO of them
    (["export", "--format", "yolo"], 2),  # a folder format
    (["export", "nosuch", "--format", "jsonl"], 7),
    (["report", "nosuch"], 7),
    (["suspects", "nosuch"], 7),
    (["sample", "nosuch", "-n", "2", "--no-record"], 7),
    (["diff", "v1", "nosuch", "--output"], 7),
]


@pytest.mark.parametrize("args, code", FAILING, ids=[" ".join(a[:2]) for a, _ in FAILING])
def test_a_command_that_fails_leaves_no_folder_of_its_out(two_rounds, tmp_path, args, code):
    """The check that --out can be written made its folders, and the command's error left them (empty)."""
    top = tmp_path / "not-yet"
    out = top / "deeper" / "out.parquet"
    got, _, err = invoke(*args, *([] if args[-1] == "--output" else ["--out"]), str(out))
    assert got == code, err
    assert not top.exists(), sorted(p.name for p in top.rglob("*"))


@pytest.mark.parametrize("args", [["export", "--format", "jsonl"], ["export", "--format", "csv"], ["report"],
                                  ["suspects"], ["diff", "v1", "v2", "--output"]])
def test_a_command_that_writes_makes_the_folders_of_its_out(two_rounds, tmp_path, args):
    out = tmp_path / "not-yet" / "deeper" / "out.parquet"  # the name diff asks for; the others take any
    got, _, err = invoke(*args, *([] if args[-1] == "--output" else ["--out"]), str(out))
    assert got == 0, err
    assert out.is_file()


@pytest.mark.labelstudio
def test_dataset_export_of_no_such_dataset_leaves_no_folder(tmp_path, monkeypatch):
    """``dataset export`` checks its --out before it asks Label Studio, which then finds no such dataset."""
    monkeypatch.chdir(tmp_path)
    top = tmp_path / "not-yet"
    code, _, err = invoke("dataset", "export", "annover-test-no-such-dataset-hE", "--out", str(top / "a" / "x.json"))
    assert code == 14, err
    assert not top.exists()
