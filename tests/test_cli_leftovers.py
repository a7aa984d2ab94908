"""Odd command-line arguments an audit found accepted in silence, through the real CLI handler."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pyarrow.compute as pc
import pytest
from click.testing import CliRunner

from annover.cli import run
from annover.errors import UsageError
from annover.loop.suspects import suspects
from tests.test_cli import invoke
from tests.test_report import loop_repo  # noqa: F401  (the fixture)


def test_suspects_refuses_a_model_version_the_version_has_no_predictions_of(loop_repo, tmp_path):  # noqa: F811
    out = tmp_path / "recheck.txt"
    for models in (["nope"], ["sentiment-bert-v1", "nope"], [""]):
        args = [a for m in models for a in ("--model", m)]
        code, stdout, err = invoke("suspects", *args, "--out", str(out))
        assert code == 2 and stdout == "" and not out.exists()
        head = loop_repo.resolve("HEAD")
        assert err.startswith(f"Error: version HEAD ({head[:12]}) has no predictions of model version {models[-1]!r}")
        assert "use one of: sentiment-bert-v1, sentiment-bert-v2" in err and len(err.splitlines()) == 1
    code, _, err = invoke("suspects", "--model", "sentiment-bert-v2", "--json")
    assert code == 0, err


def test_a_model_version_a_version_lacks_is_said_of_the_version_given(loop_repo, tmp_path):  # noqa: F811
    """eval, sample, suspects and export --predictions name the version the user gave and its id
    (they said "this version", whichever REV was given)."""
    v2 = loop_repo.resolve("v2")
    out = tmp_path / "out.json"
    for rev, named in (("v2", f"v2 ({v2[:12]})"), ("HEAD~1", f"HEAD~1 ({v2[:12]})"), (v2[:8], v2[:12])):
        for cmd in (["eval", rev, "--model", "nope"], ["sample", rev, "--model", "nope", "--n", "3", "--no-record"],
                    ["suspects", rev, "--model", "nope"],
                    ["export", rev, "--format", "coco", "--out", str(out), "--predictions", "nope"]):
            code, stdout, err = invoke(*cmd)
            assert code == 2 and stdout == "" and not out.exists(), (cmd, err)
            assert err.startswith(f"Error: version {named} has no predictions of model version 'nope'"), (cmd, err)
            assert "use one of: sentiment-bert-v1" in err and len(err.splitlines()) == 1


def test_suspects_threshold_outside_0_1_is_a_usage_error_unless_scores_are(loop_repo, tmp_path):  # noqa: F811
    out = tmp_path / "recheck.txt"
    for t in ("-1", "2", "1.0000001"):
        code, stdout, err = invoke("suspects", "--threshold", t, "--out", str(out))
        assert code == 2 and stdout == "" and not out.exists()
        assert f"--threshold {float(t)!r} is not between 0 and 1" in err and len(err.splitlines()) == 1
    for t in ("0", "1"):
        assert invoke("suspects", "--threshold", t, "--json")[0] == 0
    # a model scoring on another scale (logits): any finite threshold means something there
    ann, preds = loop_repo.load("v3", "annotations"), loop_repo.load("v3", "predictions")
    i = preds.schema.get_field_index("score")
    logits = preds.set_column(i, "score", pc.multiply(preds.column("score"), 10.0))
    got = suspects(ann, logits, threshold=8.5)
    assert got.counts.get("model", 0) > 0 and got.options["threshold"] == 8.5
    with pytest.raises(UsageError, match="not between 0 and 1"):
        suspects(ann, preds, threshold=8.5)


def test_agreement_iou_and_overlap_are_refused_outside_0_1(loop_repo):  # noqa: F811
    for opt in ("--iou", "--overlap"):
        for v in ("-0.1", "1.5"):
            code, stdout, err = invoke("agreement", opt, v)
            assert code == 2 and stdout == "" and f"Invalid value for '{opt}'" in err and "0<=x<=1" in err


def test_snapshot_label_studio_options_without_label_studio_are_usage_errors(two_rounds):
    repo, _, v2 = two_rounds
    for args, named in ((["--full"], "--full goes"), (["--ls-url", "http://127.0.0.1:9"], "--ls-url goes"),
                        (["--ls-api-key", "k"], "--ls-api-key goes"),
                        (["--full", "--ls-url", "http://127.0.0.1:9"], "--full and --ls-url go")):
        code, out, err = invoke("snapshot", "--from", "round1.json", "-m", "back", *args)
        assert code == 2 and out == "" and err.startswith(f"Error: {named} with --label-studio DATASET"), err
        assert len(err.splitlines()) == 1
    assert repo.resolve("HEAD") == v2.id and repo.log()[0].id == v2.id  # nothing made


def test_snapshot_file_options_with_label_studio_are_usage_errors(two_rounds, monkeypatch):
    """--format and --users say how to read a file; a pull ignored them in silence. Refused
    before the server is asked (none listens at the URL given)."""
    repo, _, v2 = two_rounds
    monkeypatch.setenv("LABEL_STUDIO_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "annover-test")
    (Path(repo.root) / "users.csv").write_text("1,a@example.com\n")
    for args, named in ((["--format", "coco"], "--format goes"), (["--users", "users.csv"], "--users goes"),
                        (["--format", "yolo", "--users", "users.csv"], "--format and --users go")):
        code, out, err = invoke("snapshot", "--label-studio", "proj", "-m", "pull", *args)
        assert code == 2 and out == "" and err.startswith(f"Error: {named} with --from FILE"), err
        assert len(err.splitlines()) == 1
    assert repo.resolve("HEAD") == v2.id


def test_tag_delete_with_a_revision_too_is_a_usage_error(two_rounds):
    repo, v1, _ = two_rounds
    assert invoke("tag", "keep", "v1")[0] == 0
    code, out, err = invoke("tag", "-d", "keep", "v1")
    assert code == 2 and out == "" and err.startswith("Error: tag -d takes one NAME; 'v1' is one argument too many")
    assert repo.resolve("keep") == v1.id  # not deleted
    assert invoke("tag", "-d", "keep")[0] == 0
    code, _, err = invoke("tag", "other", "")  # an empty REV is not HEAD
    assert code == 7 and "empty revision" in err


def test_diff_limit_implies_rows_as_git_u_implies_p(two_rounds):
    code, out, err = invoke("diff", "v1", "v2", "--limit", "2")
    assert code == 0, err
    assert out == invoke("diff", "v1", "v2", "--rows", "--limit", "2")[1] and len(out.splitlines()) == 2
    assert "2 of " in err and "--limit 0 shows all" in err
    doc = json.loads(invoke("diff", "v1", "v2", "--json", "--limit", "1")[1])
    assert len(doc["rows"]["items"]) == 1
    assert json.loads(invoke("diff", "v1", "v2", "--json")[1])["rows"] is None  # no --limit: no rows, as before
    _, out, _ = invoke("diff", "v1", "v2")
    assert out.startswith("diff v1")  # the summary, as before


def test_push_and_pull_refuse_a_remote_name_not_configured(two_rounds):
    repo, _, _ = two_rounds
    assert invoke("push")[0] == 0
    backup = repo.root.parent / "backup"
    assert subprocess.run(["dvc", "remote", "add", "--local", "backup", str(backup)], cwd=repo.root).returncode == 0
    for cmd in ("pull", "push"):
        for name in ("nonexist", ""):
            code, out, err = invoke(cmd, "--remote", name)
            assert code == 2 and out == "" and len(err.splitlines()) == 1, err
            assert err.startswith(f"Error: no DVC remote named {name!r}; the remotes are: annover (the default), "
                                  "backup — ")
    assert not backup.exists()  # nothing sent anywhere
    assert invoke("pull", "--remote", "annover")[0] == 0
    for cmd in ("push", "pull"):  # --json names the remote it moved objects to or from (said the default's)
        code, out, err = invoke(cmd, "--remote", "backup", "--json")
        assert code == 0, err
        assert json.loads(out)["remote"] == {"name": "backup", "url": str(backup), "this_machine": True}
    assert backup.is_dir()


def test_init_refuses_a_remote_url_with_no_bucket_or_host(tmp_path):
    for url, said in (("s3://", "an S3 remote needs a bucket (s3://BUCKET/PATH)"),
                      ("s3:///labels", "an S3 remote needs a bucket (s3://BUCKET/PATH)"),
                      ("gs://", "a Google Cloud Storage remote needs a bucket (gs://BUCKET/PATH)"),
                      ("azure://", "an Azure remote needs a container (azure://CONTAINER/PATH)"),
                      ("ssh://", "the ssh:// remote needs a host (ssh://HOST/PATH)")):
        root = tmp_path / "r"
        code, out, err = invoke("init", str(root), "--remote", url)
        assert code == 2 and out == "" and err.startswith(f"Error: remote {url}: {said}"), err
        assert not root.exists()  # nothing made
    for url in ("s3://bucket", f"file://{tmp_path / 'folder'}"):
        assert invoke("init", str(tmp_path / url[:2]), "--remote", url)[0] == 0


EMPTY_IS_A_USAGE_ERROR = [
    ["config", "validate", ""],
    ["config", "new", "image-classification", "--labels", "a", "--out", ""],
    ["init", ""], ["init", "--remote", ""],
    ["snapshot", "--from", ""], ["snapshot", "--label-studio", ""],
    ["snapshot", "--from", "round2.json", "--config", ""], ["snapshot", "--from", "round2.json", "--key", ""],
    ["snapshot", "--from", "round2.json", "--source", ""],
    ["snapshot", "--from", "round2.json", "--predictions", ""],
    ["snapshot", "--from", "round2.json", "--users", ""],
    ["snapshot", "--from", "round2.json", "-m", ""], ["snapshot", "--from", "round2.json", "-m", "  "],
    ["revert", "-m", ""],
    ["diff", "v1", "v2", "--output", ""],
    ["export", "v1", "--format", "jsonl", "--out", ""],
    ["export", "v1", "--format", "jsonl", "--out", "x.jsonl", "--predictions", ""],
    ["export", "v1", "--format", "jsonl", "--out", "x.jsonl", "--resolve", ""],
    ["suspects", "--out", ""],
    ["dataset", "list", "--url", ""], ["dataset", "export", "x", "--out", ""], ["dataset", "push", "x", "--from", ""],
]


def test_an_empty_string_is_not_an_option_left_out(two_rounds):
    repo, _, v2 = two_rounds
    for args in EMPTY_IS_A_USAGE_ERROR:
        code, out, err = invoke(*args)
        assert code == 2 and out == "", (args, err)
        assert len(err.splitlines()) == 1 and ("it is empty" in err or "an empty message" in err), (args, err)
    for args in (["revert", ""], ["diff", "v1", ""]):  # an empty revision, as everywhere else, not HEAD
        code, out, err = invoke(*args)
        assert code == 7 and out == "" and "empty revision" in err, (args, err)
    assert repo.log()[0].id == v2.id and not (repo.root / "x.jsonl").exists()  # nothing made
    code, _, err = invoke("snapshot", "--from", "round1.json", "-m", "a message")
    assert code == 0, err


OPTION_AS_A_VALUE = [
    ["init", "fresh", "--remote", "--json"], ["init", "fresh", "--remote", "-q"], ["init", "--json", "--remote", "-h"],
    ["export", "v1", "--format", "coco", "--out", "--force"], ["export", "v1", "--format", "jsonl", "--out", "-q"],
    ["snapshot", "--from", "--json"], ["snapshot", "--from", "round2.json", "--config", "--full"],
    ["diff", "v1", "v2", "--output", "--json"], ["suspects", "--out", "--json"],
    ["dataset", "export", "x", "--out", "--json"],
]


def test_a_value_left_out_before_another_option_is_not_taken_as_a_file_name(two_rounds, tmp_path):
    """`init --remote --json` made a remote folder named '--json' (and `export --out --force` a
    folder '--force'); an option-like value is refused, and ./NAME still names such a file."""
    repo, _, v2 = two_rounds
    for args in OPTION_AS_A_VALUE:
        code, out, err = invoke(*args)
        assert code == 2 and out == "", (args, code, err)
        assert len(err.splitlines()) == 1 and "looks like an option (a value left out?)" in err, (args, err)
    assert repo.log()[0].id == v2.id and not (repo.root / "fresh").exists()
    assert not any(p.name.startswith("-") for p in repo.root.iterdir())  # nothing made
    code, _, err = invoke("export", "v1", "--format", "jsonl", "--out", "./--force")
    assert code == 0 and (repo.root / "--force").is_file(), err


def test_an_image_format_refused_for_text_names_every_format_that_takes_it(two_rounds, tmp_path):
    """The hint listed five formats and left out json-min and jsonl; every one it names exports."""
    code, out, err = invoke("export", "v2", "--format", "coco", "--out", str(tmp_path / "coco.json"))
    assert code == 2 and out == "", err
    named = err.split("export these labels as ", 1)[1].strip().replace(" or ", ", ").split(", ")
    names = [n.split(" ")[0] for n in named]
    assert set(names) >= {"conll", "hf", "csv", "parquet", "json-min", "jsonl", "label-studio"}, names
    for fmt in names:
        resolve = ["--resolve", "latest"] if fmt in ("conll", "hf") else []  # one answer a task
        code, _, err = invoke("export", "v2", "--format", fmt, "--out", str(tmp_path / f"out-{fmt}"), *resolve)
        assert code == 0, (fmt, err)


def test_export_table_is_refused_for_formats_that_write_every_table(two_rounds, tmp_path):
    """`--table tasks` was ignored by label-studio, json-min, coco...: they wrote the annotations."""
    repo, _, _ = two_rounds
    for fmt in ("label-studio", "json-min", "conll", "hf", "coco"):
        out = tmp_path / f"x-{fmt}"
        code, stdout, err = invoke("export", "v2", "--format", fmt, "--table", "tasks", "--out", str(out))
        assert code == 2 and stdout == "" and len(err.splitlines()) == 1, (fmt, err)
        assert f"--table tasks is for the one-table formats (jsonl, csv, parquet), not {fmt}" in err, err
        assert not out.exists()
    code, _, err = invoke("export", "v2", "--format", "csv", "--table", "tasks", "--out", str(tmp_path / "t.csv"))
    assert code == 0 and (tmp_path / "t.csv").read_text().startswith("\"task_key\",\"data\""), err


def test_a_group_without_its_command_shows_its_help_as_help_not_squashed_into_an_error_line():
    """`annover` or `annover dataset` alone: click raises its help as a usage error; the one-line
    handler made it `Error: Usage: ... Options: ...` on one line."""
    for args in ([], ["dataset"], ["config"]):
        code, out, err = invoke(*args)
        assert code == 2 and out == "", (args, err)
        assert err.startswith(f"Usage: {' '.join(['annover', *args])} [OPTIONS] COMMAND") and "Error:" not in err, err
        assert "\nCommands:\n" in err and "Examples:" in err, err


def test_export_to_standard_output_is_the_file_export_byte_for_byte(two_rounds, tmp_path):
    """`--out -` wrote a file named '-' in some commands and was refused in others: a one-file
    format now goes to stdout (the result line to stderr), a folder format is refused."""
    repo, _, _ = two_rounds
    for fmt in ("jsonl", "label-studio", "json-min", "csv", "parquet"):
        code, out, err = invoke("export", "v2", "--format", fmt, "--out", str(tmp_path / f"f-{fmt}"))
        assert code == 0, err
        runner = CliRunner()
        with runner.isolation() as (stdout, stderr, _):
            code = run(["export", "v2", "--format", fmt, "--out", "-"])
            data, said = stdout.getvalue(), stderr.getvalue().decode()
        assert code == 0 and data == (tmp_path / f"f-{fmt}").read_bytes(), (fmt, said)
        assert said.startswith(f"wrote standard output ({fmt}, {len(data)} bytes)"), said
        assert not (repo.root / "-").exists()
    rows = [json.loads(line) for line in (tmp_path / "f-jsonl").read_text().splitlines()]
    assert len(rows) == repo.load("v2").num_rows
    for args, needle in ((["--format", "yolo"], "yolo writes a folder"), (["--format", "jsonl", "--json"], "--json with --out -")):
        code, out, err = invoke("export", "v2", *args, "--out", "-")
        assert code == 2 and out == "" and needle in err and len(err.splitlines()) == 1, err


def test_json_keeps_stdout_to_the_result_and_still_says_warnings_and_notes_on_stderr(two_rounds, tmp_path):
    """snapshot, export, agreement, eval and status put their warnings and notes in --json's result
    only (status dropped the this-machine warning), where diff, sample and push said them on stderr
    too: a script reads stdout, the person running it still reads stderr."""
    repo, _, _ = two_rounds
    code, out, err = invoke("export", "v2", "--format", "hf", "--resolve", "latest", "--out", str(tmp_path / "hf"),
                            "--json")
    notes = json.loads(out)["notes"]
    assert code == 0 and notes and err.splitlines() == [f"note: {n}" for n in notes], err
    code, out, err = invoke("agreement", "v2", "--json")
    notes = json.loads(out)["notes"]
    assert code == 0 and notes and err.splitlines() == [f"note: {n}" for n in notes], err
    code, out, err = invoke("status", "--no-remote", "--json")
    assert code == 0 and json.loads(out)["remote"]["this_machine"], out
    assert err.startswith("warning: the DVC remote 'annover' is a folder on this machine only"), err
    code, out, err = invoke("snapshot", "--from", "round2.json", "--key", "auto", "-m", "keys by hash", "--json")
    warnings = json.loads(out)["warnings"]
    assert code == 0 and any("changed scheme" in w for w in warnings), out
    assert [line for line in err.splitlines() if line.startswith("warning:")] == [f"warning: {w}" for w in warnings]
