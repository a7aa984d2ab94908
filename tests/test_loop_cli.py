"""The loop's commands through the real CLI handler: output, --json, --out, exit codes, records."""

from __future__ import annotations

import json

import jsonschema
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency

import annover
from tests.conftest import ROOT, git, on_a_terminal
from tests.test_cli import invoke
from tests.test_report import loop_repo  # noqa: F401  (the fixture)

SCHEMA = json.loads((ROOT / "schemas" / "diff.schema.json").read_text())


def test_agreement_text_and_json(loop_repo):  # noqa: F811
    code, out, err = invoke("agreement")
    assert code == 0, err
    assert out.startswith("agreement at v3: 119 task(s) with answers, 215 answer(s) (5 of them skipped), 3 annotator(s)")
    assert "Cohen's kappa alice@example.com / bob@example.com" in out and "most disagreeing pairs:" in out
    code, out, _ = invoke("agreement", "v2", "--json")
    doc = json.loads(out)
    assert doc["options"]["version"]["name"] == "v2"
    assert doc["controls"]["sentiment"]["krippendorff_alpha"]["n"] > 0
    assert doc["controls"]["entities"]["kind"] == "regions"
    code, out, _ = invoke("agreement", "v1..v3")
    assert [line.split()[0] for line in out.splitlines()] == ["v1", "v2", "v3"]
    code, out, err = invoke("agreement", "v3..v1")
    assert code == 2 and "v3 is not in the history of v1" in err and "such as v1..v3" in err


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
    code, _, err = invoke("eval", "v1..v3")  # two models in the range: which one is asked
    assert code == 2 and "have predictions of 2 model versions (sentiment-bert-v1, sentiment-bert-v2)" in err
    code, _, err = invoke("eval", "--model", "nope")
    assert code == 2 and err.startswith("Error: version HEAD (") and "has no predictions of model version 'nope'" in err


def test_eval_names_the_version_it_scored_as_agreement_and_suspects_do(loop_repo):  # noqa: F811
    docs = {}
    for cmd in (["eval", "v2", "--model", "sentiment-bert-v1"], ["agreement", "v2"], ["suspects", "v2"]):
        code, out, err = invoke(*cmd, "--json")
        assert code == 0, err
        docs[cmd[0]] = json.loads(out)
    v = docs["agreement"]["options"]["version"]
    assert v["name"] == "v2" and docs["suspects"]["options"]["version"] == v and docs["eval"]["version"] == v
    code, out, err = invoke("eval", "v2", "--model", "sentiment-bert-v1")
    assert code == 0 and out.splitlines()[0] == "sentiment-bert-v1 against the labels of v2 (ground-truth)", out


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
    assert set(doc["counts"]) == {"majority", "model", "changed", "split"} and doc["options"]["since"] == "v2"
    # the text words the top N only, and counts them all as --json lists them
    assert doc["total"] == len(doc["suspects"]) > 3
    code, out, _ = invoke("suspects", "-n", "3")
    lines = out.splitlines()
    assert lines[0] == f"{doc['total']} suspect label(s), top 3:" and len(lines) == 4
    assert [ln.split()[1] for ln in lines[1:]] == [i["task_key"] for i in doc["suspects"][:3]]


def _commits(repo) -> int:
    return int(git("rev-list", "--count", "HEAD", cwd=repo.root).strip())


def test_sample_writes_records_and_commits_reproducibly(loop_repo, tmp_path):  # noqa: F811
    out1 = tmp_path / "next.txt"
    code, out, err = invoke("sample", "--strategy", "uncertainty", "--n", "3", "--model", "sentiment-bert-v2",
                            "--seed", "1", "--out", str(out1))
    assert code == 0, err
    keys = out.split()
    assert len(keys) == 3 and out1.read_text().split() == keys
    records = sorted((loop_repo.dir / "samples").glob("*.json"))
    assert len(records) == 1
    doc = json.loads(records[0].read_text())
    assert doc["keys"] == keys and doc["version"] == loop_repo.show("v3").id and doc["seed"] == 1
    assert (doc["strategy"], doc["n"], doc["params"]["model"]) == ("uncertainty", 3, "sentiment-bert-v2")
    assert records[0].stem == doc["id"] and f"recorded as .annover/samples/{doc['id']}.json" in err
    assert f"sample {doc['id']}: v3 uncertainty n=3 seed=1" in git("log", "-1", "--format=%s", cwd=loop_repo.root)
    assert git("status", "--porcelain", ".annover", cwd=loop_repo.root).strip() == ""
    code, again, _ = invoke("sample", "--strategy", "random", "--n", "5", "--seed", "9", "--no-record", "--json")
    assert json.loads(again)["keys"] == json.loads(invoke("sample", "--strategy", "random", "--n", "5", "--seed", "9",
                                                          "--no-record", "--json")[1])["keys"]
    assert json.loads(again)["record"] is None and len(list((loop_repo.dir / "samples").glob("*.json"))) == 1
    code, _, err = invoke("sample", "--strategy", "margin", "--n", "0")
    assert code == 2 and "--n 0" in err


def test_a_sample_id_is_its_content(loop_repo):  # noqa: F811
    """The same selection (from any spelling of its version) is one record and one commit; another seed is another."""
    args = ["--strategy", "random", "--n", "4", "--json"]
    first = json.loads(invoke("sample", "v3", "--seed", "2", *args)[1])
    commits = _commits(loop_repo)
    same = json.loads(invoke("sample", loop_repo.show("v3").id[:10], "--seed", "2", *args)[1])
    assert (same["id"], same["record"], same["keys"]) == (first["id"], first["record"], first["keys"])
    assert _commits(loop_repo) == commits
    other = json.loads(invoke("sample", "v3", "--seed", "3", *args)[1])
    assert other["id"] != first["id"] and _commits(loop_repo) == commits + 1
    older = json.loads(invoke("sample", "v2", "--seed", "2", *args)[1])
    assert older["id"] not in (first["id"], other["id"])
    ids = {p.stem for p in (loop_repo.dir / "samples").glob("*.json")}
    assert ids == {first["id"], other["id"], older["id"]}


def test_push_from_a_bad_sample_fails_before_connecting(loop_repo, tmp_path, monkeypatch):  # noqa: F811
    """Each in one line with its exit code, before any server is asked (none is reachable here)."""
    monkeypatch.setenv("LABEL_STUDIO_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "x")
    good = json.loads(invoke("sample", "--strategy", "unlabeled", "--n", "3", "--json")[1])
    keys = tmp_path / "keys.txt"
    keys.write_text("\n".join(good["keys"]) + "\nrev-999\n")
    not_json = tmp_path / "r.json"
    not_json.write_text('{"schema": "something/1", "keys": ["a"]}')
    cases = [(["--from-sample", "0123abcd"], 14, "no recorded sample has that id"),
             (["--from-sample", "no-such-file.txt"], 14, "no such file, and not a sample id"),
             (["--from-sample", good["id"][:3]], 14, "a sample id is 4 to 64 hex digits"),
             (["--from-sample", good["id"][:8].upper(), "--from", "v2"], 2, "is not the version sample"),
             (["--from-sample", str(not_json)], 3, "is not a sample record"),
             (["--from-sample", str(keys)], 2, "does not say its version"),
             (["--from-sample", str(keys), "--from", "v3"], 3, "'rev-999'"),
             (["--from-sample", good["id"], "--from", "v2"], 2, "is not the version sample"),
             (["--from-sample", good["id"], "--predictions", "no-such-model"], 2, "no-such-model")]
    for extra, want, needle in cases:
        code, out, err = invoke("dataset", "push", "some-dataset", *extra)
        assert (code, out) == (want, ""), (extra, err)
        assert needle in err and len(err.strip().splitlines()) == 1, err
    code, _, err = invoke("dataset", "push", "some-dataset")
    assert code == 2 and "--from-sample" in err


def _regions(repo, rev: str) -> dict[tuple[str, str], int]:
    """(control, label) -> regions, straight from the table (independent of the loop's query)."""
    out: dict[tuple[str, str], int] = {}
    for r in repo.load(rev, "annotations").to_pylist():
        if r["was_cancelled"] or not r["region_key"]:
            continue
        for lab in r["labels"] or []:
            out[(r["from_name"], lab)] = out.get((r["from_name"], lab), 0) + 1
    return out


def test_diff_json_has_drift_checked_against_scipy(loop_repo):  # noqa: F811
    code, out, err = invoke("diff", "v2", "v3", "--json")
    assert code == 0, err
    doc = json.loads(out)
    jsonschema.validate(doc, SCHEMA)
    ra, rb = _regions(loop_repo, "v2"), _regions(loop_repo, "v3")
    for ctl, e in doc["drift"]["controls"].items():
        assert e["a"] == [ra.get((ctl, lab), 0) for lab in e["labels"]]
        assert e["b"] == [rb.get((ctl, lab), 0) for lab in e["labels"]]
        assert {lab: c["after"] for lab, c in doc["labels"][ctl].items()} == dict(zip(e["labels"], e["b"]))
        stat, p, dof, _ = chi2_contingency([e["a"], e["b"]], correction=False)
        assert (e["chi_square"]["dof"], e["chi_square"]["statistic"], e["chi_square"]["p_value"]) == \
            (dof, pytest.approx(stat, abs=1e-5), pytest.approx(p, abs=1e-5))
        assert e["jensen_shannon"] == pytest.approx(jensenshannon(e["a"], e["b"], base=2) ** 2, abs=1e-5)
        per_label: dict[str, int] = {}
        for x in e["annotators"].values():
            assert sum(x["a"]) == x["regions_a"] and sum(x["b"]) == x["regions_b"]
            for lab, n in zip(x["labels"], x["b"]):
                per_label[lab] = per_label.get(lab, 0) + n
        assert [per_label.get(lab, 0) for lab in e["labels"]] == e["b"]
    assert json.loads(invoke("diff", "v3", "v3", "--json")[1])["drift"] is None  # identical: nothing read


def test_drift_counts_are_cached_per_version_and_a_bad_entry_is_counted_again(loop_repo, tmp_path,  # noqa: F811
                                                                              monkeypatch):
    cache = tmp_path / "cache" / "drift"
    monkeypatch.setenv("ANNOVER_CACHE_DIR", str(tmp_path / "cache"))
    kept = json.loads(invoke("diff", "v2", "v3", "--json")[1])["drift"]
    assert not cache.exists()  # versions made now keep their counts in their stats: nothing counted
    # a version made before stats kept them (as an older repository's): counted once, then cached
    from annover.loop import api as loop_api

    monkeypatch.setattr(loop_api, "_recorded_counts", lambda stats: None)
    first = json.loads(invoke("diff", "v2", "v3", "--json")[1])["drift"]
    assert first == kept
    sid = {v: loop_repo.show(v).record["tables"]["annotations"]["id"] for v in ("v2", "v3")}
    assert sorted(p.stem for p in cache.glob("*.json")) == sorted(sid.values())
    (cache / f"{sid['v2']}.json").write_text('{"format": 1, "counts": [["sentiment", "a", "positive", -3]]}')
    (cache / f"{sid['v3']}.json").write_text("{not json")
    assert json.loads(invoke("diff", "v2", "v3", "--json")[1])["drift"] == first
    entry = cache / f"{sid['v3']}.json"
    assert json.loads(entry.read_text())["format"] == 1  # written again
    # what the next diff reads: a well-formed entry is taken as the version's counts
    entry.write_text(json.dumps({"format": 1, "counts": [["sentiment", "zed@example.com", "positive", 5]]}))
    got = json.loads(invoke("diff", "v2", "v3", "--json")[1])["drift"]["controls"]["sentiment"]
    assert got["annotators"]["zed@example.com"]["b"] == [5] and sum(got["b"]) == 5


def test_diff_plain_output_has_one_drift_line(loop_repo):  # noqa: F811
    doc = json.loads(invoke("diff", "v2", "v3", "--json")[1])["drift"]["controls"]
    code, out, err = invoke("diff", "v2", "v3")
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.startswith("Drift: ")]
    assert len(lines) == 1
    for ctl, e in doc.items():
        assert f"{ctl} JS {e['jensen_shannon']:.3f}" in lines[0]
    shift = max(((x["jensen_shannon"], who, ctl) for ctl, e in doc.items() for who, x in e["annotators"].items()
                 if x["jensen_shannon"] is not None))
    assert f"annotator most shifted: {shift[1]} on {shift[2]} (JS {shift[0]:.3f})" in lines[0]
    assert "Drift" not in invoke("diff", "v2", "v3", "--stat")[1]
    assert "Drift" not in invoke("diff", "v2", "v3", "--no-drift")[1]
    assert json.loads(invoke("diff", "v2", "v3", "--json", "--no-drift")[1])["drift"] is None


def test_report_command(loop_repo, tmp_path):  # noqa: F811
    out = tmp_path / "r.html"
    code, _, err = invoke("report", "v2", "--out", str(out), "--json")
    assert code == 0, err
    code, _, err = invoke("report", "v2", "--out", str(out))
    assert code == 2 and "exists" in err and "--force" in err


def test_the_notebook_annotator_takes_a_sample(loop_repo):  # noqa: F811
    pytest.importorskip("annover.notebook.widget")
    code, out, err = invoke("sample", "--strategy", "uncertainty", "--n", "4", "--model", "sentiment-bert-v1",
                            "--seed", "2", "--json")
    chosen = json.loads(out)
    ann = annover.annotate(loop_repo, sample=chosen["id"], control="sentiment", annotator="nb@example.com")
    s = ann.session
    assert [t.key for t in s.tasks] == chosen["keys"] and s.base == chosen["version"]
    preds = {r["task_key"]: sorted(r["labels"]) for r in loop_repo.load("v3", "predictions").to_pylist()
             if r["model_version"] == "sentiment-bert-v1"}
    assert all(t.prediction.model_version == "sentiment-bert-v1" and sorted(t.prediction.labels) == preds[t.key]
               for t in s.tasks)
    with pytest.raises(annover.AnnoverError, match="sample= and only="):
        annover.annotate(loop_repo, sample=chosen["id"], only="unlabeled")


def test_counts_kept_in_stats_are_the_tables_counts(loop_repo):  # noqa: F811
    """What a snapshot keeps in its stats (labels_by_annotator) is what counting the table gives."""
    from annover.loop import api as loop_api
    from annover.loop.drift import COUNT_COLUMNS, label_counts

    for v in ("v1", "v2", "v3"):
        stats = loop_repo.show(v).record["stats"]
        kept = loop_api._recorded_counts(stats)
        assert kept, v
        assert kept == label_counts(loop_repo.load(v, "annotations", columns=COUNT_COLUMNS))
        by_control = {}
        for (ctl, _, lab), n in kept.items():
            by_control.setdefault(ctl, {}).setdefault(lab, 0)
            by_control[ctl][lab] += n
        assert by_control == stats["labels"]


def test_loop_commands_show_their_step_on_a_terminal(loop_repo):  # noqa: F811
    """agreement, suspects and sample name what they are doing on a terminal's stderr while
    they work (seconds at a million rows); stdout keeps the data."""
    for args, step in ((("agreement", "v3"), "measuring agreement at v3"),
                       (("suspects", "v3", "-n", "3"), "finding suspect labels at v3"),
                       (("sample", "v3", "--strategy", "random", "--n", "5", "--no-record"), "picking 5 task(s) of v3")):
        code, out, shown = on_a_terminal(*args)
        assert code == 0 and out and step in shown and step not in out, (args, shown[-300:])
        code, quiet_out, shown = on_a_terminal(*args, "-q")  # -q: the same data, no step shown
        assert code == 0 and quiet_out == out and step not in shown, (args, shown[-300:])


def test_sample_control_of_regions_says_sample_ranks_classifications(loop_repo):  # noqa: F811
    code, out, err = invoke("sample", "v2", "--strategy", "random", "--n", "5", "--control", "entities", "--no-record")
    assert code == 2 and "classification labels" in err and "sentiment" in err and out == "", err


def test_report_writes_where_o_says(loop_repo, tmp_path):  # noqa: F811
    code, out, err = invoke("report", "-o", str(tmp_path / "r.html"))
    assert code == 0, err
    assert (tmp_path / "r.html").read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
