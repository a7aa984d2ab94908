"""Diff of two tasks tables: tasks added, removed and changed (data, source item, attributes)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from annover._lazy import lazy
from annover.diffing import sql
from annover.diffing.answers import count_true
from annover.diffing.result import ADDED, CHANGED, REMOVED, ROW_FIELDS
from annover.diffing.sources import Source
from annover.diffing.words import attrs_words, keys_changed, short
from annover.store.duck import cursor, fetch

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")

#: How many characters of a task's data the words of a task added or removed show.
DATA_SHOWN = 60


def _no_rows() -> list:
    return []


@dataclass
class TaskDiff:
    """Tasks added, removed and changed (data, source item or attributes); rows on demand."""

    added: int = 0
    removed: int = 0
    changed: int = 0
    rows: Callable[[], list[tuple]] = _no_rows

    @property
    def any_rows(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def diff_tasks(con: Any, a: Source, b: Source) -> TaskDiff:
    """Tasks added, removed and changed: tasks are narrow rows, so a plain full outer join
    on the task key that compares their content is as fast as any shortcut, and exact.
    With stored task hashes on both sides, the counts come from the task keys and hashes
    alone, and the tasks' data is read only when the rows are asked for."""
    an, bn = a.register(con, "tasks_fa"), b.register(con, "tasks_fb")
    if a.hashed and b.hashed:
        return _by_stored_hash(con, a, b, an, bn)
    diff = fetch(con, sql.TASKS_DIFF.format(a=an, b=bn))
    if diff.num_rows == 0:
        return TaskDiff()
    in_a, in_b = diff.column("in_a").to_pylist(), diff.column("in_b").to_pylist()
    both = sum(x and y for x, y in zip(in_a, in_b))
    return TaskDiff(added=in_b.count(True) - both, removed=in_a.count(True) - both, changed=both,
                    rows=lambda: task_rows(diff))


def _by_stored_hash(con: Any, a: Source, b: Source, an: str, bn: str) -> TaskDiff:
    found = fetch(con, sql.unmatched_hashes(an, bn))
    if found.num_rows == 0:
        return TaskDiff()
    keys = pc.unique(found.column("__key"))
    in_a = pc.is_in(keys, value_set=found.filter(pc.is_valid(found.column("__ah"))).column("__key"))
    in_b = pc.is_in(keys, value_set=found.filter(pc.is_valid(found.column("__bh"))).column("__key"))
    both = count_true(pc.and_(in_a, in_b))

    def rows() -> list[tuple]:
        c = cursor(ordered=False)  # its own: the rows may be built in a thread
        try:
            c.register("tasks_k", pa.table({"task_key": keys}))
            side = lambda src, alias: (  # noqa: E731
                f"(SELECT * FROM {src.register(c, alias)} SEMI JOIN tasks_k USING (task_key))")
            return task_rows(fetch(c, sql.TASKS_DIFF.format(a=side(a, "tasks_fa"), b=side(b, "tasks_fb"))))
        finally:
            c.close()

    return TaskDiff(added=count_true(in_b) - both, removed=count_true(in_a) - both, changed=both, rows=rows)


def _loads(s: str | None) -> Any:
    return None if s is None else json.loads(s)


def _changed_words(r: dict) -> tuple[list[str], list[str]]:
    kinds, words = [], []
    if r["data_a"] != r["data_b"]:
        kinds.append("data")
        da, db = _loads(r["data_a"]), _loads(r["data_b"])
        if isinstance(da, dict) and isinstance(db, dict):
            words.append("; ".join(keys_changed(da, db, prefix="data.")))
        else:
            words.append("data changed")
    if r["data_hash_a"] != r["data_hash_b"]:
        kinds.append("data_hash")
        words.append(f"source item {(r['data_hash_a'] or '-')[:12]} -> {(r['data_hash_b'] or '-')[:12]}")
    if r["extra_a"] != r["extra_b"]:
        kinds.append("attrs")
        words.append(attrs_words("task", _loads(r["extra_a"]), _loads(r["extra_b"])))
    return kinds, words


def task_rows(diff: "pa.Table") -> list[tuple]:
    """Rows of the row-level diff for tasks, as tuples in the order of :data:`ROW_FIELDS`."""
    out = []
    for r in diff.to_pylist():
        base = dict.fromkeys(ROW_FIELDS)
        base.update(table="tasks", task_key=r["task_key"], kinds=[], value_a=r["data_a"], value_b=r["data_b"])
        if r["in_a"] and r["in_b"]:
            kinds, words = _changed_words(r)
            base.update(change=CHANGED, kinds=kinds, description="; ".join(words))
        elif r["in_b"]:
            base.update(change=ADDED, value_a=None, description=short(_loads(r["data_b"]), DATA_SHOWN))
        else:
            base.update(change=REMOVED, value_b=None, description=short(_loads(r["data_a"]), DATA_SHOWN))
        out.append(tuple(base.values()))
    return out
