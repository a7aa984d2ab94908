"""The process's in-memory DuckDB database, for the diff's joins and the snapshot's hashes.

One database is opened per process and each user takes a cursor of it (opening a
database costs far more than a cursor). What a cursor registers (Arrow tables, TEMP
views) and its SESSION settings are its own, so concurrent users in threads do not see
each other's names.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from annover._lazy import lazy

if TYPE_CHECKING:  # pragma: no cover
    import duckdb
    import pyarrow as pa
else:
    duckdb = lazy("duckdb")

_DATABASE: list[Any] = []
_LOCK = threading.Lock()


def cursor(*, ordered: bool = True) -> Any:
    """A new connection to the database. ``ordered=False``: results need not keep the
    order of their input (quicker joins; for results that are keyed or sorted later)."""
    with _LOCK:
        if not _DATABASE:
            _DATABASE.append(duckdb.connect(":memory:"))
        cur = _DATABASE[0].cursor()
    cur.execute(f"SET SESSION preserve_insertion_order = {'true' if ordered else 'false'}")
    return cur


def fetch(con: Any, sql: str) -> "pa.Table":
    """The result of a query as one Arrow table."""
    rel = con.sql(sql)
    if rel is None:  # pragma: no cover - statements, not queries
        raise ValueError("not a query")
    get = getattr(rel, "to_arrow_table", None) or rel.fetch_arrow_table
    return get()
