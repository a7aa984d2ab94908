"""A version's table as a Spark DataFrame, read straight from the DVC remote.

``annover.spark.read(spark, url, "v3")`` works out on the driver which Parquet parts make
up the version (:mod:`annover.repo.layout`); the executors read them with Spark's own
Parquet reader and need neither annover nor the git repository::

    from pyspark.sql import SparkSession
    import annover.spark
    spark = SparkSession.builder.master("local[2]").getOrCreate()
    df = annover.spark.read(spark, "/data/labels-remote", "v3")
    df.groupBy("annotator").count().show()

Needs pyspark (``pip install 'annover[spark]'``) and a Java runtime. The URL is one Spark's
Hadoop file system reads: a local folder, ``file://``, or ``s3a://`` with the hadoop-aws
jars on Spark's class path. Rows come in no particular order; sort by the table's keys
where order matters.
"""

from __future__ import annotations

import importlib.util
import re
from typing import TYPE_CHECKING, Any

from annover.errors import UsageError
from annover.model import canonical as C
from annover.repo.core import check_columns
from annover.repo.functions import RepoLike, open_clone
from annover.repo.layout import (RemoteLayout as Layout, cannot_read_remote, damaged, damaged_on_remote,
                                 not_on_remote, remote_layout)
from annover.store.dvc import redact

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["read"]


def read(spark: "SparkSession", url: str | None = None, rev: str = "HEAD", table: str = "annotations", *,
         repo: RepoLike = None, model_version: str | None = None,
         columns: list[str] | None = None, storage_options: dict[str, Any] | None = None) -> "DataFrame":
    """Table ``table`` of version ``rev`` as a Spark DataFrame over the Parquet parts on the DVC
    remote ``url`` (default: the repository's remote). The driver reads the version's manifest,
    when it was not pulled, from the remote through fsspec with ``storage_options`` (default: for
    the repository's own remote, ``s3a://`` too, the options DVC's config gives it)."""
    if importlib.util.find_spec("pyspark") is None:
        raise UsageError("annover.spark needs pyspark", "pip install 'annover[spark]'")
    if columns is not None:
        check_columns(table, columns)
    layout = remote_layout(open_clone(repo, "annover.spark.read"), rev, table, remote=url, model_version=model_version,
                           storage_options=storage_options)
    cols = list(layout.columns if columns is None else columns)  # []: the rows and no column, as annover.load
    read = cols if "task_key" in cols else ["task_key", *cols]  # the merge drops tasks by key
    try:  # Spark lists the parts here, so a part not pushed shows now
        out = _merge(spark, layout, read)
        return out if read == cols else out.select(*cols)
    except Exception as e:
        if "PATH_NOT_FOUND" in str(e) or "Path does not exist" in str(e):  # pyspark's AnalysisException
            raise not_on_remote(layout, rev, e) from None
        if _NO_FS.search(str(e)):  # Hadoop has no file system for the URL's scheme (s3://, or s3a:// without jars)
            raise _no_file_system(layout, e) from None
        if damaged(e):  # a part that is not Parquet: its footer is read here
            raise damaged_on_remote(layout, rev, e) from None
        if type(e).__module__.split(".")[0] in ("py4j", "pyspark"):  # Java's error and stack trace: in one line
            raise cannot_read_remote(layout, rev, e) from None
        raise


#: Hadoop's words for a URL scheme it cannot read: no class for it, or its class not on the class path
_NO_FS = re.compile(r'No FileSystem for scheme "?([\w.+-]+)"?|Class (org\.apache\.hadoop\.fs\.\w+\.\w+) not found')


def _no_file_system(layout: Layout, e: BaseException) -> UsageError:
    """Spark's Java error (a stack trace) for a URL its Hadoop file systems cannot read, in one line."""
    m = _NO_FS.search(str(e))
    url = (layout.base or [d.upserts or d.deletes for d in layout.deltas] or ["?"])[0]
    what = f"no file system for {m.group(1)}:// URLs" if m and m.group(1) else f"{m.group(2) if m else 'a class'} " \
        "is not on its class path"
    return UsageError(f"Spark cannot read the DVC remote's parts ({redact(url.rsplit('/files/', 1)[0])}): {what}",
                      "give the remote as s3a://BUCKET/PATH with the hadoop-aws jars on Spark's class path "
                      "(spark.jars.packages=org.apache.hadoop:hadoop-aws:<Spark's Hadoop version>), a local folder, "
                      "or read it with annover.dask")


def _read(spark: "SparkSession", urls: list[str], cols: list[str]) -> "DataFrame":
    return spark.read.parquet(*urls).select(*cols)


def _merge(spark: "SparkSession", layout: Layout, cols: list[str]) -> Any:
    """The base parts less the tasks any delta names, plus each delta's upserts less the tasks a
    later delta names (merge-on-read, as :mod:`annover.store.snapshots` defines it)."""
    named = []  # per delta: a one-column DataFrame of the task keys it names
    for d in layout.deltas:
        keys = [_read(spark, [u], ["task_key"]) for u in (d.upserts, d.deletes) if u]
        named.append(keys[0].union(keys[1]).distinct() if len(keys) == 2 else keys[0].distinct())
    frames = []
    if layout.base:
        frames.append(_less(_read(spark, layout.base, cols), named))
    for i, d in enumerate(layout.deltas):
        if d.upserts:
            frames.append(_less(_read(spark, [d.upserts], cols), named[i + 1:]))
    if not frames:
        return spark.createDataFrame(C.schema(layout.table).empty_table().select(cols).to_pandas())
    out = frames[0]
    for f in frames[1:]:
        out = out.unionByName(f)
    return out


def _less(df: "DataFrame", named: list["DataFrame"]) -> "DataFrame":
    """``df`` without the rows of tasks any of ``named`` lists (a left anti join each)."""
    for keys in named:
        df = df.join(keys, on="task_key", how="left_anti")
    return df
