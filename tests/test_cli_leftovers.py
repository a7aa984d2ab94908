"""Odd command-line arguments an audit found accepted in silence, through the real CLI handler."""

from __future__ import annotations

from tests.test_cli import invoke
from tests.test_report import loop_repo  # noqa: F401  (the fixture)


def test_suspects_refuses_a_model_version_the_version_has_no_predictions_of(loop_repo, tmp_path):  # noqa: F811
    out = tmp_path / "recheck.txt"
    for models in (["nope"], ["sentiment-bert-v1", "nope"], [""]):
        args = [a for m in models for a in ("--model", m)]
        code, stdout, err = invoke("suspects", *args, "--out", str(out))
        assert code == 2 and stdout == "" and not out.exists()
        assert err.startswith(f"Error: this version has no predictions of model version {models[-1]!r}")
        assert "use one of: sentiment-bert-v1, sentiment-bert-v2" in err and len(err.splitlines()) == 1
    code, _, err = invoke("suspects", "--model", "sentiment-bert-v2", "--json")
    assert code == 0, err
