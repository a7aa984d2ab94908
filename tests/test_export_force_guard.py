"""`export --force` replaces an earlier export, never a folder that is not one: the home folder, the
current folder (or one holding it), a git work tree. An --out that is a link is replaced as a link:
what it leads to is left as it was. Real git and DVC (the ``two_rounds`` repository)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .test_cli import invoke


def _precious(folder: Path) -> dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notes.txt").write_bytes(b"mine\n")
    (folder / "sub").mkdir(exist_ok=True)
    (folder / "sub" / "keep.bin").write_bytes(b"\x00\x01")
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("fmt", ["hf", "coco"])
def test_force_does_not_replace_the_home_folder(two_rounds, tmp_path, monkeypatch, fmt):
    home = tmp_path / "home"
    before = _precious(home)
    monkeypatch.setenv("HOME", str(home))
    code, out, err = invoke("export", "v2", "--format", fmt, "--resolve", "latest", "--out", str(home), "--force")
    assert code == 2, err
    assert "your home folder" in err and str(home) in err and "Traceback" not in err and out == ""
    assert len(err.strip().splitlines()) <= 2  # the error and its hint
    assert _files(home) == before


def test_force_does_not_replace_the_current_folder_or_one_holding_it(two_rounds, tmp_path, monkeypatch):
    outer = two_rounds[0].root / "work"  # in the repository: the command finds it from the current folder
    before = _precious(outer)
    inner = outer / "sub"
    monkeypatch.chdir(inner)
    for target, said in ((inner, "the current folder"), (outer, "holding the current folder")):
        code, _, err = invoke("export", "v2", "--format", "hf", "--resolve", "latest", "--out", str(target), "--force")
        assert code == 2 and said in err, err
    assert _files(outer) == before


def test_force_does_not_replace_a_git_work_tree(two_rounds, tmp_path):
    proj = tmp_path / "someone-else"
    before = _precious(proj)
    (proj / ".git").mkdir()
    code, _, err = invoke("export", "v2", "--format", "hf", "--resolve", "latest", "--out", str(proj), "--force")
    assert code == 2 and "holds .git" in err, err
    assert _files(proj) == before


def test_force_replaces_an_earlier_export_and_an_out_link_without_touching_its_target(two_rounds, tmp_path):
    out = tmp_path / "exports" / "hf"
    assert invoke("export", "v1", "--format", "hf", "--resolve", "latest", "--out", str(out))[0] == 0
    first = _files(out)
    code, _, err = invoke("export", "v2", "--format", "hf", "--resolve", "latest", "--out", str(out), "--force")
    assert code == 0, err
    assert _files(out) != first  # v2's labels in place of v1's
    target = tmp_path / "elsewhere"
    kept = _precious(target)
    link = tmp_path / "exports" / "link"
    link.symlink_to(target, target_is_directory=True)
    code, _, err = invoke("export", "v2", "--format", "hf", "--resolve", "latest", "--out", str(link), "--force")
    assert code == 0, err
    assert link.is_dir() and not link.is_symlink() and _files(link) == _files(out)
    assert _files(target) == kept
    assert not [p for p in os.listdir(link.parent) if ".old-" in p or p.endswith(".tmp")]
