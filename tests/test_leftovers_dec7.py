"""Small things users hit, found by the audits of 7 December: each through the real CLI handler."""

from __future__ import annotations

import json
from pathlib import Path

import annover
from tests.test_cli import invoke


def _one_error_line(code: int, stdout: str, err: str, expected_code: int) -> str:
    """The one line of an error: ``expected_code``, nothing on stdout, one line on stderr."""
    assert code == expected_code and stdout == "" and len(err.splitlines()) == 1, (code, stdout, err)
    return err


def test_tag_in_a_repository_with_no_version_says_so_as_show_does(tmp_path, monkeypatch):
    annover.init(tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    said_by_show = _one_error_line(*invoke("show"), 7).removeprefix("Error: ").rstrip()
    what, how = said_by_show.split(" — ")
    for rev in ("v1", "HEAD~1", "main"):
        err = _one_error_line(*invoke("tag", "best", rev), 7)
        assert err.startswith(f"Error: {what}") and err.rstrip().endswith(how), err
        assert repr(rev) in err or rev == "HEAD~1", err
    assert _one_error_line(*invoke("tag", "best"), 7).removeprefix("Error: ").rstrip() == said_by_show
