"""What one side of a compared table is: an Arrow table or verified Parquet parts, registered in DuckDB."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from annover._lazy import lazy
from annover.errors import ObjectError
from annover.model import canonical as C
from annover.store.duck import fetch, quoted
from annover.store.objects import ObjectRef, ObjectStore, sha256_file
from annover.store.snapshots import TASK_HASH

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
else:
    pa = lazy("pyarrow")

#: The result (region) columns of a row, the same in both answers tables.
RESULT_COLS = ("from_name", "to_name", "type", "labels", "value", "region")


@dataclass(frozen=True)
class Spec:
    """What differs between the annotations and the predictions tables."""

    table: str
    answer_key: str
    answer_cols: tuple[str, ...]
    #: the column that tells who answered (annotator, model version) and the skip flag (or "false")
    who: str
    skip: str
    region_cols: tuple[str, ...] = RESULT_COLS

    @property
    def cols(self) -> tuple[str, ...]:
        return self.answer_cols + self.region_cols

    @property
    def is_annotations(self) -> bool:
        return self.table == "annotations"


ANN = Spec("annotations", "annotation_key", ("annotator", "was_cancelled", "ground_truth", "lead_time", "extra"),
           "annotator", "was_cancelled")
PRED = Spec("predictions", "prediction_key", ("model_version", "score", "extra"), "model_version", "false")


@dataclass(frozen=True)
class Source:
    """Rows of one canonical table: an Arrow table, or Parquet files (verified as they are read).

    Registered in DuckDB as a view (or an Arrow table) under a given name.
    """

    name: str
    table: Any = None
    paths: tuple[str, ...] = ()
    #: the parts carry stored task hashes comparable with the other side's (see
    #: :data:`annover.store.snapshots.TASK_HASH`): the diff reads the task key and the hash first
    hashed: bool = False
    #: a query giving the rows instead (a snapshot's base parts with its deltas applied: :func:`merged_sql`)
    view: str | None = None
    #: run ``view`` once and keep its rows (few: the tasks some deltas name), not a view read at each use
    materialize: bool = False
    #: (name, query) of rows both sides' views read (the shared base parts' rows of the named
    #: tasks), run once for the two and kept in ``shared``
    prelude: tuple[str, str] | None = None
    shared: dict | None = field(default=None, compare=False, repr=False)
    _rows: dict = field(default_factory=dict, compare=False, repr=False)

    def in_memory(self) -> "pa.Table | None":
        """The rows as an Arrow table when they are one (not Parquet files or a query)."""
        if self.view is not None or self.paths:
            return None
        return self.table if self.table is not None else C.schema(self.name).empty_table()

    def register(self, con: Any, alias: str) -> str:
        if self.prelude is not None and self.shared is not None:
            name, query = self.prelude
            if name not in self.shared:
                self.shared[name] = fetch(con, query)
            con.register(name, self.shared[name])
        if self.view is not None and self.materialize:
            if "rows" not in self._rows:
                self._rows["rows"] = fetch(con, self.view)
            con.register(alias, self._rows["rows"])
            return alias
        if self.view is not None:
            con.execute(f"CREATE OR REPLACE TEMP VIEW {alias} AS {self.view}")
            return alias
        if self.paths:
            gone = next((p for p in self.paths if not Path(p).is_file()), None)
            if gone is not None:  # read when first asked for (the row table): a reset or pull may have removed it
                raise ObjectError(f"snapshot part {gone} is gone since the diff was made (a reset, pull or checkout "
                                  "took it out)", "run the diff again")
            files = ", ".join(quoted(p) for p in self.paths)
            con.execute(f"CREATE OR REPLACE TEMP VIEW {alias} AS SELECT * FROM read_parquet([{files}])")
            return alias
        empty = C.schema(self.name).empty_table()
        if self.hashed:
            empty = empty.append_column(TASK_HASH, pa.array([], pa.uint64()))
        con.register(alias, self.table if self.table is not None else empty)
        return alias


def _read(paths: Sequence[str]) -> str:
    files = ", ".join(quoted(p) for p in paths)
    return f"read_parquet([{files}], union_by_name = true)"


def shared_rows_sql(shared: Sequence[str], keys: Sequence[str]) -> str:
    """The rows of the ``shared`` parts whose task the ``keys`` files name."""
    return f"SELECT * FROM {_read(shared)} SEMI JOIN (SELECT DISTINCT task_key FROM {_read(keys)}) USING (task_key)"


def merged_sql(parts: Sequence[str], deltas: Sequence[tuple[str | None, str | None]],
               shared: Sequence[str] = (), keys: Sequence[str] = (), shared_table: str | None = None) -> str:
    """A query of a merge-on-read snapshot's rows (see :mod:`annover.store.snapshots`): the
    rows of the base ``parts`` whose task no delta names, and each named task's rows in the
    last delta naming it. With ``keys`` (delta files), only the tasks those name are taken
    from the ``shared`` parts (or the registered table ``shared_table``: :func:`shared_rows_sql`)
    and from the deltas (what a diff compares of parts both sides share)."""
    ups = [f"SELECT *, {j} AS __j FROM {_read([u])}" for j, (u, _) in enumerate(deltas) if u]
    dels = [f"SELECT task_key, {j} AS __j FROM {_read([d])}" for j, (_, d) in enumerate(deltas) if d]
    named = " UNION ALL ".join([f"SELECT task_key, __j FROM ({q})" for q in ups] + dels)
    ctes = [f"__last AS (SELECT task_key, max(__j) AS __j FROM ({named}) GROUP BY task_key)"] if named else [
        "__last AS (SELECT NULL::VARCHAR AS task_key WHERE false)"]
    if keys:
        ctes.append(f"__keys AS (SELECT DISTINCT task_key FROM {_read(keys)})")
    base = [f"SELECT * FROM {_read(parts)}"] if parts else []
    if shared_table is not None:
        base.append(f"SELECT * FROM {shared_table}")
    elif shared and keys:
        base.append(f"SELECT * FROM {_read(shared)} SEMI JOIN __keys USING (task_key)")
    out = [f"SELECT * FROM ({' UNION ALL BY NAME '.join(base)}) ANTI JOIN __last USING (task_key)"] if base else []
    if ups:
        last = f"(SELECT * FROM ({' UNION ALL BY NAME '.join(ups)}) SEMI JOIN __last USING (task_key, __j))"
        if keys:
            last = f"(SELECT * FROM {last} SEMI JOIN __keys USING (task_key))"
        out.append(f"SELECT * EXCLUDE (__j) FROM {last}")
    return f"WITH {', '.join(ctes)} {' UNION ALL BY NAME '.join(out)}"


def locate(store: ObjectStore, refs: list[ObjectRef]) -> list[tuple[ObjectRef, Path]]:
    """(ref, local path) of part objects; ObjectError for the first that is not here."""
    located = []
    for ref in refs:  # the first miss may open DVC to find its cache: not in threads
        p = store.locate(ref)
        if p is None:
            raise ObjectError(f"snapshot part {ref.oid[:12]} is not here",
                              "run `annover pull REV` (or `dvc pull`) to fetch it from the DVC remote")
        located.append((ref, p))
    return located


def check_part(ref: ObjectRef, path: Path) -> str:
    """``path`` as a string, after checking that its content has the object's hash."""
    if sha256_file(path) != ref.oid:
        raise ObjectError(f"snapshot part {ref.oid[:12]} is corrupt: its content does not match its hash",
                          "delete the file and run `annover pull REV` to fetch a good copy")
    return str(path)


def verified_paths(store: ObjectStore, refs: list[ObjectRef]) -> tuple[str, ...]:
    """Local paths of part objects, each re-hashed first (objects are verified on read)."""
    located = locate(store, refs)
    if len(located) <= 1:
        return tuple(check_part(*x) for x in located)
    with ThreadPoolExecutor(max_workers=4) as ex:
        return tuple(ex.map(lambda x: check_part(*x), located))


@contextmanager
def verifying(located: list[tuple[ObjectRef, Path]]) -> Iterator[None]:
    """Check the parts' hashes in a thread while the block reads them (hashlib releases the
    GIL, and the files are read once more from the page cache): the block's result counts
    only when every part checked out. When the block fails, a corrupt part is the reason
    given (DuckDB's error about a damaged file would be the symptom)."""
    with ThreadPoolExecutor(max_workers=1) as ex:
        done = ex.submit(lambda: [check_part(*x) for x in located])
        try:
            yield
        except BaseException:
            done.result()  # raises ObjectError for a corrupt part
            raise
        done.result()
