"""A version read by Dask and by Spark straight from the DVC remote, without annover on the workers.

Real components: a local-folder DVC remote and moto's S3 server on 127.0.0.1 (Dask through
fsspec/s3fs), pyspark in local mode (a real JVM). Each engine's rows must be the rows
``annover.load`` gives for the same version.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

import annover
import annover.dask
import annover.spark
from annover.errors import ObjectError, RemoteError, UsageError
from annover.model import canonical as C
from annover.repo.layout import remote_layout

from .conftest import EXAMPLES
from .test_deltas import chain_repo  # noqa: F401  (fixture: HEAD stored as a base and two deltas)
from .test_s3 import s3_env, s3_server  # noqa: F401  (fixtures: moto's server, a bucket)


def _rows(df, table: str) -> list[str]:
    """Rows of a pandas DataFrame as sorted canonical JSON (list cells as lists, NaN/None as null)."""
    out = []
    for rec in df.to_dict("records"):
        norm = {}
        for k, v in rec.items():
            if hasattr(v, "tolist"):
                v = v.tolist()
            elif isinstance(v, float) and v != v:
                v = None
            elif v is not None and type(v).__name__ in ("NAType", "NaTType"):
                v = None
            norm[k] = v
        out.append(json.dumps(norm, sort_keys=True, default=str))
    return sorted(out)


def _expected(repo: annover.Repo, rev: str, table: str = "annotations") -> list[str]:
    return _rows(repo.read_table(rev, table).to_pandas(), table)


def _two_versions(root: Path, remote: str | None = None, options: dict | None = None) -> annover.Repo:
    repo = annover.init(root, remote=remote, remote_options=options)
    for f in ("labeling.xml", "round1.json", "round2.json"):
        shutil.copy(EXAMPLES / f, root / f)
    repo.snapshot(str(root / "round1.json"), config=str(root / "labeling.xml"), key="data.ext_id", message="r1")
    repo.snapshot(str(root / "round2.json"), key="data.ext_id", message="r2")
    repo.push("v1")
    repo.push("v2")
    return repo


def _clone(repo: annover.Repo, dest: Path) -> Path:
    """A git clone without `dvc pull`: the client has the records, not the objects."""
    subprocess.run(["git", "clone", "-q", str(repo.root), str(dest)], check=True)
    assert not (dest / ".annover" / "objects").exists() or not any((dest / ".annover" / "objects").rglob("*.*"))
    return dest


@pytest.fixture(scope="module")
def local_repo(tmp_path_factory):
    root = tmp_path_factory.mktemp("engines")
    return _two_versions(root / "labels", remote=str(root / "remote"))


def test_layout_lists_the_remote_parts(local_repo, tmp_path):
    clone = _clone(local_repo, tmp_path / "clone")
    lay = remote_layout(annover.Repo(clone), "v2", "annotations")
    assert lay.rows == local_repo.show("v2").snapshot("annotations").rows
    assert lay.base and all(u.startswith("file://") for u in lay.base)
    assert all(Path(u[len("file://"):]).is_file() for u in lay.base)  # every part is on the remote
    assert lay.columns == [f.name for f in C.schema("annotations")]
    with pytest.raises(UsageError, match="unknown table"):
        remote_layout(annover.Repo(clone), "v2", "labels")
    with pytest.raises(UsageError, match="model_version"):
        remote_layout(annover.Repo(clone), "v2", "predictions", model_version="nope")
    with pytest.raises(UsageError, match="no model_version given") as e:
        remote_layout(annover.Repo(clone), "v2", "predictions")
    assert all(mv in e.value.hint for mv in local_repo.show("v2").model_versions) and "None" not in str(e.value)
    # model_version= with another table is refused, as annover.load refuses it (it was ignored)
    mv = local_repo.show("v2").model_versions[0]
    with pytest.raises(UsageError, match="selects predictions, and table 'annotations' has none"):
        remote_layout(annover.Repo(clone), "v2", "annotations", model_version=mv)
    with pytest.raises(UsageError, match="selects predictions, and table 'tasks' has none"):
        annover.dask.read(None, "v2", "tasks", repo=clone, model_version=mv)


@pytest.mark.parametrize("rev", ["v1", "v2"])
@pytest.mark.parametrize("table", ["annotations", "tasks"])
def test_dask_reads_a_version_from_a_local_remote(local_repo, tmp_path, rev, table):
    clone = _clone(local_repo, tmp_path / "clone")
    ddf = annover.dask.read(None, rev, table, repo=clone)
    assert list(ddf.columns) == [f.name for f in C.schema(table)]
    got = _rows(ddf.compute(), table)
    assert got == _expected(local_repo, rev, table) and got


def test_dask_over_s3(tmp_path, s3_env):  # noqa: F811
    endpoint, bucket = s3_env
    repo = _two_versions(tmp_path / "labels", remote=f"s3://{bucket}/store", options={"endpointurl": endpoint})
    clone = _clone(repo, tmp_path / "clone")
    so = {"endpoint_url": endpoint}
    for rev in ("v1", "v2"):
        ddf = annover.dask.read(f"s3://{bucket}/store", rev, repo=clone, storage_options=so)
        assert _rows(ddf.compute(), "annotations") == _expected(repo, rev)
        # the repository's own remote: its endpoint comes from DVC's config, as dvc pull finds it
        assert _rows(annover.dask.read(None, rev, repo=clone).compute(), "annotations") == _expected(repo, rev)
    # a version never pushed: the manifest is not on the remote, and the error says to push
    repo2 = annover.Repo(clone)
    with pytest.raises(ObjectError, match="push"):
        annover.dask.read(f"s3://{bucket}/elsewhere", "v2", repo=repo2, storage_options=so)
    # a remote that does not answer: a remote error (exit 10), not a version to push, nor botocore's own
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    dead = {"endpoint_url": f"http://127.0.0.1:{port.getsockname()[1]}"}
    port.close()
    with pytest.raises(RemoteError) as e:
        annover.dask.read(f"s3://{bucket}/store", "v2", repo=repo2, storage_options={**dead, "config_kwargs": {
            "retries": {"max_attempts": 1}, "connect_timeout": 2}})
    assert e.value.exit_code == 10 and "could not be read" in str(e.value)


@pytest.fixture(scope="module")
def half_pushed(tmp_path_factory):
    """A repository whose v2 is made and not pushed: its manifest is here, its parts are not on the remote."""
    root = tmp_path_factory.mktemp("half") / "labels"
    repo = annover.init(root, remote=str(root.parent / "remote"))
    for f in ("labeling.xml", "round1.json", "round2.json"):
        shutil.copy(EXAMPLES / f, root / f)
    repo.snapshot(str(root / "round1.json"), config=str(root / "labeling.xml"), key="data.ext_id", message="r1")
    repo.push("v1")
    repo.snapshot(str(root / "round2.json"), key="data.ext_id", message="r2")
    return repo


def test_dask_says_to_push_a_version_whose_parts_are_not_on_the_remote(half_pushed):
    assert _rows(annover.dask.read(None, "v1", repo=half_pushed).compute(), "annotations") == \
        _expected(half_pushed, "v1")
    with pytest.raises(RemoteError, match=r"version v2 .*not on the DVC remote.*annover push") as e:
        annover.dask.read(None, "v2", repo=half_pushed)
    # the missing part is named (Dask's own first line, "An error occurred while calling the
    # read_parquet method...", names none)
    assert re.search(r"files/md5/[0-9a-f]{2}/[0-9a-f]{30}", str(e.value)) and "An error occurred" not in str(e.value)


@pytest.fixture(scope="module")
def spark():
    if shutil.which("java") is None:
        pytest.fail("Spark needs a Java runtime: .ci/run installs Debian's default-jre-headless")
    from pyspark.sql import SparkSession

    s = (SparkSession.builder.master("local[1]").appName("annover-test")
         .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
         .config("spark.driver.bindAddress", "127.0.0.1").config("spark.sql.shuffle.partitions", "2")
         .getOrCreate())
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()


def test_spark_reads_a_version_from_a_local_remote(local_repo, tmp_path, spark):
    clone = _clone(local_repo, tmp_path / "clone")
    for rev in ("v1", "v2"):
        df = annover.spark.read(spark, None, rev, repo=clone)
        assert df.columns == [f.name for f in C.schema("annotations")]
        assert _rows(df.toPandas(), "annotations") == _expected(local_repo, rev)
    tasks = annover.spark.read(spark, None, "v2", "tasks", repo=clone)
    assert _rows(tasks.toPandas(), "tasks") == _expected(local_repo, "v2", "tasks")
    with pytest.raises(UsageError, match="selects predictions, and table 'tasks' has none"):
        annover.spark.read(spark, None, "v2", "tasks", repo=clone, model_version=local_repo.show("v2").model_versions[0])


def test_engines_read_a_remote_folder_given_relative(local_repo, spark, monkeypatch):
    """A folder remote given as a relative path is read from the current directory: its part URLs
    are absolute file:// URLs (file://../remote/... named host '..', which Spark refused: 'Wrong FS')."""
    monkeypatch.chdir(local_repo.root.parent)
    lay = remote_layout(local_repo, "v2", remote="remote")
    assert all(u.startswith("file:///") and Path(u[len("file://"):]).is_file() for u in lay.base)
    monkeypatch.chdir(local_repo.root)
    assert _rows(annover.spark.read(spark, "../remote", "v2", repo=local_repo).toPandas(), "annotations") == \
        _expected(local_repo, "v2")
    assert _rows(annover.dask.read("../remote", "v2", repo=local_repo).compute(), "annotations") == \
        _expected(local_repo, "v2")


def test_spark_says_in_one_line_that_it_cannot_read_an_s3_url(local_repo, spark):
    """An s3:// remote (DVC's scheme; Hadoop reads s3a://): a UsageError naming the remote and what to
    give instead, not py4j's Java stack trace ('No FileSystem for scheme "s3"')."""
    with pytest.raises(UsageError) as e:
        annover.spark.read(spark, "s3://annover-no-bucket/store", "v2", repo=local_repo)
    msg = str(e.value)
    assert e.value.exit_code == 2 and "\n" not in msg and "s3://annover-no-bucket/store" in msg
    assert "no file system for s3:// URLs" in msg and "s3a://" in e.value.hint


def test_engines_say_a_git_url_as_repo_needs_a_clone(local_repo, spark, tmp_path, monkeypatch):
    """repo= a git URL (annover.load takes one; the engines read the record from a clone): a UsageError
    saying to clone it, not 'not an annover repository: <cwd>/file:/...' with 'run annover init'."""
    monkeypatch.chdir(tmp_path)
    url = local_repo.root.as_uri()
    with pytest.raises(UsageError, match=r"is a git URL") as e:
        annover.dask.read(None, "v2", repo=url)
    assert "clone it" in e.value.hint and str(tmp_path) not in str(e.value)
    with pytest.raises(UsageError, match=r"is a git URL"):
        annover.spark.read(spark, None, "v2", repo=url)


def test_spark_says_to_push_a_version_whose_parts_are_not_on_the_remote(half_pushed, spark):
    assert _rows(annover.spark.read(spark, None, "v1", repo=half_pushed).toPandas(), "annotations") == \
        _expected(half_pushed, "v1")
    with pytest.raises(RemoteError, match=r"version v2 .*not on the DVC remote.*annover push"):
        annover.spark.read(spark, None, "v2", repo=half_pushed)


def test_engines_apply_deltas(chain_repo, tmp_path, spark):  # noqa: F811
    """A version stored as base parts plus two deltas (a relabel; a task added, one removed)
    reads in Dask and Spark as annover.load gives it."""
    from .test_deltas import S

    head = chain_repo.show("HEAD")
    m = S.read_manifest(chain_repo.store, head.snapshot("annotations"))
    assert m["schema"] == S.DELTA_SCHEMA and len(m["deltas"]) == 2
    chain_repo.push()
    clone = _clone(chain_repo, tmp_path / "clone")
    lay = remote_layout(annover.Repo(clone), head.id)
    assert len(lay.deltas) == 2 and all(d.upserts or d.deletes for d in lay.deltas)
    want = _expected(chain_repo, head.id)
    assert _rows(annover.dask.read(None, head.id, repo=clone).compute(), "annotations") == want
    assert _rows(annover.spark.read(spark, None, head.id, repo=clone).toPandas(), "annotations") == want
    for vid in head.parents:  # the version before, one delta
        assert _rows(annover.dask.read(None, vid, repo=clone).compute(), "annotations") == _expected(chain_repo, vid)


def test_engines_read_the_columns_asked_for_over_deltas_and_refuse_unknown_ones(chain_repo, tmp_path, spark):  # noqa: F811
    """columns= without task_key, over a version with deltas (the merge drops tasks by key), as
    annover.load gives them; an unknown column is a UsageError, not the engine's own."""
    head = chain_repo.show("HEAD")
    chain_repo.push()
    clone = _clone(chain_repo, tmp_path / "clone")
    cols = ["labels", "annotator"]
    want = _rows(chain_repo.load(head.id, columns=cols).to_pandas(), "annotations")
    ddf = annover.dask.read(None, head.id, repo=clone, columns=cols)
    assert list(ddf.columns) == cols and _rows(ddf.compute(), "annotations") == want
    sdf = annover.spark.read(spark, None, head.id, repo=clone, columns=cols)
    assert sdf.columns == cols and _rows(sdf.toPandas(), "annotations") == want
    # columns=[]: the rows and no column, as annover.load gives them (not every column)
    rows = chain_repo.load(head.id, columns=[]).num_rows
    none = annover.dask.read(None, head.id, repo=clone, columns=[])
    assert list(none.columns) == [] and none.compute().shape == (rows, 0)
    snone = annover.spark.read(spark, None, head.id, repo=clone, columns=[])
    assert snone.columns == [] and snone.count() == rows
    with pytest.raises(UsageError, match="no column 'nope'"):
        annover.dask.read(None, head.id, repo=clone, columns=["nope"])
    with pytest.raises(UsageError, match="no column 'nope'"):
        annover.spark.read(spark, None, head.id, repo=clone, columns=["nope"])
