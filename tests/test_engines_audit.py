"""An ML engineer's audit of annover.dask / annover.spark and of the README's plain readers.

A training job pins a version by tag, version id, git commit or branch; reads tasks,
annotations and predictions, with deltas and after compaction; and gets one line naming
what is wrong and how to fix it for a remote missing an object, a damaged object, a remote
that does not answer, the URL of another remote. Real components as in test_engines.py:
moto's S3 server on 127.0.0.1, local-folder remotes, pyspark in local mode, real git and DVC.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import annover
import annover.dask
import annover.spark
from annover.errors import ObjectError, RemoteError, UsageError
from annover.model import canonical as C
from annover.repo.layout import object_url, remote_layout
from annover.store import snapshots as S

from .test_deltas import DUCKDB_SNIPPET, PYARROW_SNIPPET, _readme_snippet, _write, chain_repo  # noqa: F401
from .test_engines import _clone, _expected, _rows, _two_versions, spark  # noqa: F401
from .test_s3 import s3_env, s3_server, start_moto  # noqa: F401

KEY, SECRET = "AKIAANNOVERAUDIT0001", "annover-audit-secret-do-not-show-0123456789"


def _one_line(e: BaseException) -> str:
    msg = str(e)
    assert "\n" not in msg and "Traceback" not in msg and "\tat " not in msg, msg
    return msg


def test_engines_pin_a_version_by_tag_id_commit_and_branch_over_s3(tmp_path, s3_env):  # noqa: F811
    """Every way a training job names a version reads the rows annover.load gives, from a clone
    that never ran dvc pull; tasks and predictions (model_version=) too."""
    endpoint, bucket = s3_env
    repo = _two_versions(tmp_path / "labels", remote=f"s3://{bucket}/store", options={"endpointurl": endpoint})
    clone = _clone(repo, tmp_path / "clone")
    commit = subprocess.run(["git", "rev-list", "-n1", "v1"], cwd=repo.root, capture_output=True, text=True,
                            check=True).stdout.strip()
    branch = subprocess.run(["git", "branch", "--show-current"], cwd=repo.root, capture_output=True, text=True,
                            check=True).stdout.strip()
    v1 = repo.show("v1").id
    for rev, same in ((v1, "v1"), (v1[:12], "v1"), (commit, "v1"), (commit[:8], "v1"), ("HEAD~1", "v1"),
                      (branch, "v2")):
        assert _rows(annover.dask.read(None, rev, repo=clone).compute(), "annotations") == _expected(repo, same), rev
    assert _rows(annover.dask.read(None, "v2", "tasks", repo=clone).compute(), "tasks") == \
        _expected(repo, "v2", "tasks")
    mv = repo.show("v2").model_versions[0]
    want = _rows(repo.load("v2", "predictions", model_version=mv).to_pandas(), "predictions")
    got = annover.dask.read(None, "v2", "predictions", repo=clone, model_version=mv).compute()
    assert _rows(got, "predictions") == want and want


def test_the_own_s3_remote_is_read_with_dvcs_endpoint_by_every_reader(tmp_path, s3_env, spark):  # noqa: F811
    """remote_layout(repo, rev) (documented for any engine), annover.spark.read and annover.dask.read
    given the remote as s3a:// read a manifest not pulled from the repository's own remote with the
    endpoint DVC's config gives it; they went to AWS's address (a RemoteError: could not connect)."""
    endpoint, bucket = s3_env
    repo = _two_versions(tmp_path / "labels", remote=f"s3://{bucket}/store", options={"endpointurl": endpoint})
    clone = annover.Repo(_clone(repo, tmp_path / "clone"))
    lay = remote_layout(clone, "v2")
    assert lay.rows == repo.show("v2").snapshot("annotations").rows and lay.base[0].startswith(f"s3://{bucket}/")
    ddf = annover.dask.read(f"s3a://{bucket}/store", "v2", repo=clone)
    assert _rows(ddf.compute(), "annotations") == _expected(repo, "v2")
    # Spark: the driver has the plan; Spark itself has no s3a file system here (no hadoop-aws jars)
    for so in (None, {"endpoint_url": endpoint}):
        with pytest.raises(UsageError, match="class path") as e:
            annover.spark.read(spark, f"s3a://{bucket}/store", "v2", repo=clone, storage_options=so)
        _one_line(e.value)


@pytest.fixture
def parts_on_s3(tmp_path, s3_env, monkeypatch):  # noqa: F811
    """A version of several parts (4 tasks a part) pushed to S3, and a clone that did not pull it."""
    endpoint, bucket = s3_env
    monkeypatch.setattr(C, "TASKS_PER_PART", 4)
    repo = _two_versions(tmp_path / "labels", remote=f"s3://{bucket}/store", options={"endpointurl": endpoint})
    lay = remote_layout(repo, "v2")
    assert len(lay.base) >= 3 and not lay.deltas
    return repo, annover.Repo(_clone(repo, tmp_path / "clone")), lay, endpoint, bucket


def test_dask_says_a_part_missing_from_the_remote_at_read_not_in_compute(parts_on_s3):
    """A remote missing one object (pushed partially), not the first: read() says which and to
    push (Dask asks every part's size at read_parquet, not only the first part's footer it reads),
    not a worker's FileNotFoundError in compute()."""
    import boto3

    repo, clone, lay, endpoint, bucket = parts_on_s3
    last = lay.base[-1][len(f"s3://{bucket}/"):]
    boto3.client("s3", endpoint_url=endpoint).delete_object(Bucket=bucket, Key=last)
    with pytest.raises(RemoteError, match=r"version v2 .*annotations is not on the DVC remote") as e:
        annover.dask.read(None, "v2", repo=clone)
    assert last in _one_line(e.value) and "annover push" in e.value.hint and e.value.exit_code == 10
    # the other tables are whole, and read
    assert _rows(annover.dask.read(None, "v2", "tasks", repo=clone).compute(), "tasks") == \
        _expected(repo, "v2", "tasks")


def test_no_key_is_shown_in_a_readers_error(parts_on_s3, spark):  # noqa: F811
    """Keys given in storage_options appear in no message, hint or repr. A URL holding them is
    refused (s3fs read s3://KEY:SECRET@bucket as a bucket named so, and a pulled version's
    RemoteError quoted it: 'not on the DVC remote: KEY:SECRET@bucket/store/files/...')."""
    repo, clone, lay, endpoint, bucket = parts_on_s3
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    fast = {"config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 2}}
    url = f"s3://{KEY}:{SECRET}@{bucket}/store"
    for repo_ in (clone, repo):  # the manifest read from the remote, then a pulled one: the parts read
        with pytest.raises(RemoteError) as e:
            annover.dask.read(f"s3://{bucket}/store", "v2", repo=repo_,
                              storage_options={"endpoint_url": dead, "key": KEY, "secret": SECRET, **fast})
        errors = [e.value]
        for read in (lambda: annover.dask.read(url, "v2", repo=repo_, storage_options={"endpoint_url": endpoint}),
                     lambda: annover.spark.read(spark, url.replace("s3://", "s3a://"), "v2", repo=repo_)):
            with pytest.raises(UsageError, match=r"the remote URL s3a?://\*\*\*@.* holds a password") as e:
                read()
            assert "storage_options=" in e.value.hint
            errors.append(e.value)
        for err in errors:
            text = f"{err} {err.hint} {err!r}"
            assert SECRET not in text and KEY not in text, text
            _one_line(err)


@pytest.fixture(scope="module")
def s3_with_keys(tmp_path_factory):
    """moto's S3 server on 127.0.0.1 checking keys (after its first 4 requests, which make a
    user, its keys, its policy and a bucket), and a repository of one version pushed there."""
    import boto3

    proc, endpoint = start_moto({**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "4"})
    try:
        admin = {"aws_access_key_id": "AKIAANNOVERSETUP0000", "aws_secret_access_key": "s" * 40,
                 "region_name": "us-east-1", "endpoint_url": endpoint}
        iam = boto3.client("iam", **admin)
        iam.create_user(UserName="trainer")
        keys = iam.create_access_key(UserName="trainer")["AccessKey"]
        iam.put_user_policy(UserName="trainer", PolicyName="all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        good = {"AWS_ACCESS_KEY_ID": keys["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": keys["SecretAccessKey"],
                "AWS_DEFAULT_REGION": "us-east-1"}
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=good["AWS_ACCESS_KEY_ID"],
                     aws_secret_access_key=good["AWS_SECRET_ACCESS_KEY"]).create_bucket(Bucket="keyed")
        with pytest.MonkeyPatch.context() as mp:
            for k, v in good.items():
                mp.setenv(k, v)
            root = tmp_path_factory.mktemp("keyed")
            repo = _two_versions(root / "labels", remote="s3://keyed/store", options={"endpointurl": endpoint})
        yield repo, annover.Repo(_clone(repo, root / "clone")), endpoint, good
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_wrong_or_missing_keys_are_one_line_naming_the_keys(s3_with_keys, monkeypatch):
    """A training job with the wrong secret, an unknown key id, or no keys at all: a RemoteError
    (exit 10) saying to check the keys, with S3's own line, and no key shown."""
    repo, clone, endpoint, good = s3_with_keys
    for k, v in good.items():
        monkeypatch.setenv(k, v)
    assert _rows(annover.dask.read(None, "v2", repo=clone).compute(), "annotations") == _expected(repo, "v2")
    wrong = [{"key": good["AWS_ACCESS_KEY_ID"], "secret": SECRET}, {"key": KEY, "secret": SECRET}]
    for repo_ in (clone, repo):  # the manifest read from the remote; a pulled one, the parts read
        for keys in wrong:
            with pytest.raises(RemoteError) as e:
                annover.dask.read("s3://keyed/store", "v2", repo=repo_, storage_options={"endpoint_url": endpoint,
                                                                                          **keys})
            text = f"{e.value} {e.value.hint} {e.value!r}"
            assert SECRET not in text and KEY not in text and "keys" in e.value.hint and e.value.exit_code == 10
            _one_line(e.value)
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(k)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(repo.root.parent / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(repo.root.parent / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(RemoteError) as e:  # s3fs tries anonymous access then: this server refuses it
        annover.dask.read(None, "v2", repo=clone)
    assert "keys" in e.value.hint and e.value.exit_code == 10
    _one_line(e.value)


def test_a_url_of_another_remote_says_to_give_the_one_pushed_to(local_pair):
    repo, clone = local_pair
    with pytest.raises(ObjectError, match="could not be read") as e:
        annover.dask.read(str(repo.root.parent / "other-remote"), "v2", repo=clone)
    assert "the URL of the remote it was pushed to" in e.value.hint and "annover push" in e.value.hint


@pytest.fixture
def local_pair(tmp_path):
    """Two versions pushed to a local-folder remote, and a clone that did not pull them."""
    repo = _two_versions(tmp_path / "labels", remote=str(tmp_path / "remote"))
    return repo, annover.Repo(_clone(repo, tmp_path / "clone"))


def test_engines_say_a_damaged_part_in_one_line(local_pair, spark):  # noqa: F811
    """An object on the remote that is not Parquet: an ObjectError (exit 8) naming it and saying
    to push a good copy; Spark raised py4j's Py4JJavaError with Java's stack trace, Dask a
    RemoteError telling to check the remote's address and keys."""
    repo, clone = local_pair
    part = Path(remote_layout(clone, "v2").base[0][len("file://"):])
    part.write_bytes(b"not parquet" * 20)
    for read in (lambda: annover.dask.read(None, "v2", repo=clone),
                 lambda: annover.spark.read(spark, None, "v2", repo=clone)):
        with pytest.raises(ObjectError, match="annotations on the DVC remote is damaged") as e:
            read()
        assert part.name in _one_line(e.value) and e.value.exit_code == 8 and "annover push" in e.value.hint


def test_spark_says_a_remote_that_does_not_answer_in_one_line(local_pair, spark):  # noqa: F811
    """A remote Spark cannot reach: a RemoteError (exit 10), not py4j's Py4JJavaError."""
    repo, _ = local_pair
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(RemoteError, match="the DVC remote could not be read") as e:
        annover.spark.read(spark, f"hdfs://127.0.0.1:{port}/store", "v2", repo=repo)  # the manifest is here
    assert "ConnectException" in _one_line(e.value) and e.value.exit_code == 10


def test_engines_read_deltas_and_then_the_compacted_version(chain_repo, tmp_path, spark):  # noqa: F811
    """A chain past MAX_CHAIN deltas (3 in chain_repo) is written whole again: both the last
    version with deltas and the compacted one read in Dask and Spark as annover.load gives them."""
    r = chain_repo
    base = {f"k{i:03d}": {"a@x": "p", "b@x": "n"} for i in range(60)}
    r.snapshot(_write(r.root / "in3.parquet", {**base, "k007": {"a@x": "n"}}), message="round 3")
    r.snapshot(_write(r.root / "in4.parquet", {**base, "k008": {"a@x": "m"}}), message="round 4")
    kinds = [S.read_manifest(r.store, r.show(t).snapshot("annotations")).get("deltas") for t in ("v4", "v5")]
    assert len(kinds[0]) == 3 and kinds[1] is None
    r.push()
    clone = _clone(r, tmp_path / "clone")
    for tag in ("v4", "v5"):
        for table in ("annotations", "tasks"):
            want = _expected(r, tag, table)
            assert _rows(annover.dask.read(None, tag, table, repo=clone).compute(), table) == want, (tag, table)
            assert _rows(annover.spark.read(spark, None, tag, table, repo=clone).toPandas(), table) == want


def _ls_task(i: int, label: str, predicted: str) -> dict:
    result = lambda lab: [{"from_name": "label", "to_name": "text", "type": "choices",  # noqa: E731
                           "value": {"choices": [lab]}}]
    return {"id": i + 1, "data": {"ext_id": f"t{i:03d}", "text": f"text {i}"},
            "annotations": [{"id": 1000 + i, "completed_by": 1, "result": result(label)}],
            "predictions": [{"id": 5000 + i, "model_version": "m1", "score": 0.5, "result": result(predicted)}]}


@pytest.fixture
def predictions_chain(tmp_path, monkeypatch):
    """Label Studio exports of 60 tasks with predictions of model version m1, snapshotted three
    times: the second round changes a prediction and a label, the third removes a task. Every
    table of v2 and v3 is stored as base parts plus deltas."""
    for name, value in (("MIN_BASE_BYTES", 0), ("MAX_DELTA_FRACTION", 1.0), ("MAX_CHAIN", 3)):
        monkeypatch.setattr(S, name, value)
    root = tmp_path / "repo"
    r = annover.init(root, remote=str(tmp_path / "remote"))
    (root / "l.xml").write_text('<View><Text name="text" value="$text"/><Choices name="label" toName="text">'
                                '<Choice value="p"/><Choice value="n"/></Choices></View>')
    rounds = [[_ls_task(i, "p", "p") for i in range(60)]]
    rounds.append([_ls_task(i, "n" if i == 3 else "p", "n" if i == 5 else "p") for i in range(60)])
    rounds.append([t for t in rounds[1] if t["data"]["ext_id"] != "t010"])
    for i, tasks in enumerate(rounds):
        (root / f"r{i}.json").write_text(json.dumps(tasks))
        r.snapshot(str(root / f"r{i}.json"), config=str(root / "l.xml") if i == 0 else None,
                   key="data.ext_id", message=f"round {i}")
    for t in ("tasks", "annotations"):
        assert S.read_manifest(r.store, r.show("v3").snapshot(t)).get("deltas"), t
    assert S.read_manifest(r.store, r.show("v3").snapshot("predictions", "m1")).get("deltas")
    return r


@pytest.mark.parametrize("marker", ["With pyarrow", "With DuckDB"])
def test_readme_plain_readers_read_predictions_and_tasks_with_deltas(predictions_chain, tmp_path, marker):
    """The README's plain pyarrow and DuckDB recipes (test_deltas runs them on annotations), given the
    predictions of one model version and the tasks, as the README says to, in a process without
    annover: the rows annover.load gives."""
    r = predictions_chain
    code = _readme_snippet(marker)
    assert code.strip() == {"With pyarrow": PYARROW_SNIPPET, "With DuckDB": DUCKDB_SNIPPET}[marker].strip()
    ann = 'version["tables"]["annotations"]["manifest"]'
    assert code.count(ann) == 1
    for table, path, want in (("predictions", 'version["tables"]["predictions"]["m1"]["manifest"]',
                               r.load("v3", "predictions", model_version="m1")),
                              ("tasks", 'version["tables"]["tasks"]["manifest"]', r.load("v3", "tasks"))):
        out = tmp_path / f"{table}.parquet"
        script = (code.replace(ann, path) + f"\nimport sys, pyarrow.parquet as _pq\n_pq.write_table(labels, {str(out)!r})\n"
                  "assert not [k for k in sys.modules if k.split('.')[0] == 'annover'], 'annover was imported'\n")
        p = subprocess.run([sys.executable, "-I", "-c", script], cwd=r.root, capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        got = pq.read_table(out)
        assert got.num_rows == want.num_rows > 0 and got.cast(want.schema).equals(want), table


def test_engines_read_predictions_with_deltas(predictions_chain, tmp_path, spark):  # noqa: F811
    r = predictions_chain
    r.push()
    clone = _clone(r, tmp_path / "clone")
    for rev in ("v2", "v3"):
        want = _rows(r.load(rev, "predictions", model_version="m1").to_pandas(), "predictions")
        got = annover.dask.read(None, rev, "predictions", repo=clone, model_version="m1")
        assert _rows(got.compute(), "predictions") == want
        sgot = annover.spark.read(spark, None, rev, "predictions", repo=clone, model_version="m1")
        assert _rows(sgot.toPandas(), "predictions") == want
    # the remote missing a delta's object (pushed partially): both engines name it, at read()
    lay = remote_layout(annover.Repo(clone), "v3", "predictions", model_version="m1")
    gone = next(d.upserts or d.deletes for d in reversed(lay.deltas))
    Path(gone[len("file://"):]).unlink()
    for read in (lambda: annover.dask.read(None, "v3", "predictions", repo=clone, model_version="m1"),
                 lambda: annover.spark.read(spark, None, "v3", "predictions", repo=clone, model_version="m1")):
        with pytest.raises(RemoteError, match="predictions is not on the DVC remote") as e:
            read()
        assert gone.rsplit("/", 1)[1] in _one_line(e.value) and "annover push" in e.value.hint


def test_a_corrupt_object_on_the_remote_is_mended_as_its_error_says(tmp_path):
    """A manifest on the remote whose bytes do not match its hash: the error says to delete it on
    the remote and push again, since a push leaves an object already there as it is (the hint
    said only to push a good copy, which changed nothing). Doing what it says mends the read."""
    repo = _two_versions(tmp_path / "labels", remote=str(tmp_path / "remote"))
    clone = annover.Repo(_clone(repo, tmp_path / "clone"))
    ref = repo.show("v2").snapshot("annotations").manifest
    obj = Path(object_url(str(tmp_path / "remote"), ref.md5).removeprefix("file://"))
    good = obj.read_bytes()
    obj.write_bytes(b"not the manifest")
    repo.push("v2")  # what the old hint said: the object stays as it is
    assert obj.read_bytes() == b"not the manifest"
    with pytest.raises(ObjectError) as e:
        remote_layout(clone, "v2")
    assert "is corrupt" in _one_line(e.value) and "delete that object on the remote" in e.value.hint
    obj.unlink()
    repo.push("v2")
    assert obj.read_bytes() == good
    assert remote_layout(clone, "v2").rows == repo.show("v2").snapshot("annotations").rows


def test_a_bucket_name_s3_refuses_is_named_with_why(local_pair, s3_env):  # noqa: F811
    """A bucket name S3 cannot have: botocore says 'Parameter validation failed:' on its first
    line and why on the next, so the one-line error said only the first, which tells nothing."""
    endpoint, _ = s3_env
    _, clone = local_pair
    with pytest.raises((ObjectError, RemoteError)) as e:
        annover.dask.read("s3://Bad_Bucket!/store", "v2", repo=clone, storage_options={"endpoint_url": endpoint})
    assert "Invalid bucket name" in _one_line(e.value), e.value
