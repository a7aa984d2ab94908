"""The loop's commands through the real CLI handler: output, --json, --out, exit codes, records."""

from __future__ import annotations

import json

from tests.conftest import git
from tests.test_cli import invoke
from tests.test_report import loop_repo  # noqa: F401  (the fixture)


def test_agreement_text_and_json(loop_repo):  # noqa: F811
    code, out, err = invoke("agreement")
    assert code == 0, err
    assert out.startswith("agreement at v3: 119 task(s) with answers, 215 answer(s), 3 annotator(s)")
    assert "Cohen's kappa alice@example.com / bob@example.com" in out and "most disagreeing pairs:" in out
    code, out, _ = invoke("agreement", "v2", "--json")
    doc = json.loads(out)
    assert doc["options"]["version"]["name"] == "v2"
    assert doc["controls"]["sentiment"]["krippendorff_alpha"]["n"] > 0
    assert doc["controls"]["entities"]["kind"] == "regions"
    code, out, _ = invoke("agreement", "v1..v3")
    assert [line.split()[0] for line in out.splitlines()] == ["v1", "v2", "v3"]
    code, out, err = invoke("agreement", "v3..v1")
    assert code == 2 and "v3 is not in the history of v1" in err


def test_eval_one_model_two_models_and_a_range(loop_repo):  # noqa: F811
    code, out, err = invoke("eval", "--model", "sentiment-bert-v2")
    assert code == 0, err
    assert "sentiment: accuracy" in out and "confusion (rows: label, columns: predicted):" in out
    code, out, err = invoke("eval")
    assert code == 2 and "2 model versions" in err and "--model" in err
    code, out, _ = invoke("eval", "--model", "sentiment-bert-v1", "--model", "sentiment-bert-v2", "--json")
    doc = json.loads(out)["versions"][0]
    assert doc["models"] == ["sentiment-bert-v1", "sentiment-bert-v2"] and doc["tasks"] == 120
    code, out, _ = invoke("eval", "v1..v3", "--model", "sentiment-bert-v1", "--json")
    series = json.loads(out)["versions"]
    assert [v["name"] for v in series] == ["v1", "v2", "v3"]
    assert all(0 < v["controls"]["sentiment"]["accuracy"] <= 1 for v in series)
    code, _, err = invoke("eval", "v1..v3")
    assert code == 2 and "needs the model" in err
    code, _, err = invoke("eval", "--model", "nope")
    assert code == 2 and err.startswith("Error: this version has no predictions of model version 'nope'")


def test_suspects_ranked_with_reasons_and_keys_out(loop_repo, tmp_path):  # noqa: F811
    keys = tmp_path / "recheck.txt"
    code, out, err = invoke("suspects", "--out", str(keys), "-n", "5")
    assert code == 0, err
    assert "suspect label(s), top 5:" in out.splitlines()[0] and len(out.splitlines()) == 6
    code, out, _ = invoke("suspects", "--json")
    doc = json.loads(out)
    assert keys.read_text().splitlines() == list(dict.fromkeys(i["task_key"] for i in doc["suspects"]))
    scores = [i["score"] for i in doc["suspects"]]
    assert scores == sorted(scores, reverse=True)
    assert set(doc["counts"]) == {"majority", "model", "changed"} and doc["options"]["since"] == "v2"


def test_sample_writes_records_and_commits_reproducibly(loop_repo, tmp_path):  # noqa: F811
    out1 = tmp_path / "next.txt"
    code, out, err = invoke("sample", "--strategy", "uncertainty", "--n", "3", "--model", "sentiment-bert-v2",
                            "--seed", "1", "--out", str(out1))
    assert code == 0, err
    keys = out.split()
    assert len(keys) == 3 and out1.read_text().split() == keys
    record = loop_repo.dir / "samples" / "v3-uncertainty-n3-seed1.json"
    doc = json.loads(record.read_text())
    assert doc["keys"] == keys and doc["version"] == loop_repo.show("v3").id and doc["seed"] == 1
    assert "sample v3-uncertainty-n3-seed1" in git("log", "-1", "--format=%s", cwd=loop_repo.root)
    assert git("status", "--porcelain", ".annover", cwd=loop_repo.root).strip() == ""
    code, again, _ = invoke("sample", "--strategy", "random", "--n", "5", "--seed", "9", "--no-record", "--json")
    assert json.loads(again)["keys"] == json.loads(invoke("sample", "--strategy", "random", "--n", "5", "--seed", "9",
                                                          "--no-record", "--json")[1])["keys"]
    code, _, err = invoke("sample", "--strategy", "margin", "--n", "0")
    assert code == 2 and "--n 0" in err


def test_report_command(loop_repo, tmp_path):  # noqa: F811
    out = tmp_path / "r.html"
    code, _, err = invoke("report", "v2", "--out", str(out), "--json")
    assert code == 0, err
    code, _, err = invoke("report", "v2", "--out", str(out))
    assert code == 2 and "exists" in err and "--force" in err
