"""The task hash parts store (``snapshots.task_hashes``): a function of one task's rows only.

The diff trusts it to say "this task is the same on both sides", so: a task's hash does
not depend on the other tasks of the table (which part it lands in, what was added or
removed around it), and any change of a key or content value of one of its rows changes
it; provenance (the tool's ids, times) does not.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from annover.model import canonical as C
from annover.store import duck
from annover.store.snapshots import constant_sql, row_hash_sql, row_hashes, task_hashes
from tests.test_diff import side, task_list


def by_task(table: pa.Table, name: str) -> dict[str, int]:
    h = task_hashes(table, name)
    assert len(h) == table.num_rows
    keys = table.column("task_key").to_pylist()
    out = {}
    for i, (k, v) in enumerate(zip(keys, h.to_pylist())):
        first = i == 0 or keys[i - 1] != k
        assert (v is not None) == first  # on each task's first row only
        if first:
            out[k] = v
    return out


def sort(t: pa.Table, name: str) -> pa.Table:
    return C.sort_table(t, name)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(task_list(with_predictions=True), st.data())
def test_a_task_hash_depends_on_that_task_only(tasks, data):
    s = side(tasks)
    name, table = "annotations", s.annotations
    assume(table.num_rows)
    whole = by_task(table, name)
    # any subset of the tasks, e.g. one side of a part boundary, gives each task the same hash
    keep = data.draw(st.lists(st.sampled_from(sorted(whole)), unique=True, min_size=1))
    sub = table.filter(pc.is_in(table.column("task_key"), value_set=pa.array(keep)))
    assert by_task(sub, name) == {k: whole[k] for k in keep}
    # provenance columns are not content
    prov = [c[0] for c in C.COLUMNS[name] if c[3] == "provenance" and c[0] != "position"]
    col = data.draw(st.sampled_from(prov))
    i = table.schema.get_field_index(col)
    changed = table.set_column(i, col, pa.nulls(table.num_rows, table.schema.field(col).type))
    assert by_task(changed, name) == whole
    # every hashed column: one row's value changed changes its task's hash and no other
    row = data.draw(st.integers(0, table.num_rows - 1))
    col = data.draw(st.sampled_from([c for c in C.HASHED[name] if c != "task_key"]))
    values = table.column(col).to_pylist()
    kind = {c[0]: c[1] for c in C.COLUMNS[name]}[col]
    new = {"string": lambda v: (v or "") + "x", "json": lambda v: '{"x":1}' if v != '{"x":1}' else '{"x":2}',
           "bool": lambda v: not v, "float64": lambda v: (v or 0.0) + 1.5,
           "list<string>": lambda v: (v or []) + ["x"]}[kind](values[row])
    values[row] = new
    edited = table.set_column(table.schema.get_field_index(col), col, pa.array(values, table.schema.field(col).type))
    if col in C.KEYS[name]:
        edited = sort(edited, name)
    after = by_task(edited, name)
    task = table.column("task_key")[row].as_py()
    assert after[task] != whole[task]
    assert {k: v for k, v in after.items() if k != task} == {k: v for k, v in whole.items() if k != task}


def test_floats_hash_as_the_canonical_encoding_compares_them():
    """-0.0 is 0.0 and every NaN is one NaN, as in the snapshot id."""
    row = {"task_key": "t", "annotation_key": "a#0", "region_key": "r", "annotator": "a", "from_name": "c",
           "to_name": "x", "type": "choices", "labels": ["l"], "value": "{}", "region": None,
           "was_cancelled": False, "ground_truth": False, "extra": None, "position": 0, "ls_annotation_id": None,
           "ls_task_id": None, "created_at": None, "updated_at": None}
    hashes = []
    for lead in (0.0, -0.0, float("nan"), -float("nan"), 1.0):
        t = pa.Table.from_pylist([{**row, "lead_time": lead}], schema=C.schema("annotations"))
        hashes.append(task_hashes(t, "annotations")[0].as_py())
    assert hashes[0] == hashes[1] and hashes[2] == hashes[3] and len(set(hashes)) == 3


def _hashes_of_every_column(table: pa.Table, name: str) -> list[int]:
    """Row hashes with every hashed column given to DuckDB (no column as a literal)."""
    con = duck.cursor()
    try:
        con.register("__t", table.select(C.HASHED[name]))
        return duck.fetch(con, f"SELECT {row_hash_sql(name)} AS h FROM __t").column("h").to_pylist()
    finally:
        con.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 5), st.sampled_from(["", "a", "ä €", "it's", "x" * 40]), st.booleans())
def test_columns_alike_in_every_row_hash_as_the_columns(n, text, flag):
    """A column whose rows all hold one value (all null, a dictionary of one text, booleans
    alike) is hashed as an SQL literal: the row hashes are those of the column itself."""
    name = "annotations"
    t = pa.Table.from_pylist([{"task_key": f"t{i % 2}", "annotation_key": f"a#{i}", "region_key": "r",
                               "was_cancelled": flag, "ground_truth": i % 2 == 1, "lead_time": None,
                               "labels": None, "value": text, "position": 0} for i in range(n)],
                             schema=C.schema(name))
    t = C.sort_table(t, name)
    one = pa.DictionaryArray.from_arrays(pa.array([0] * n, pa.int32()), pa.array([text]))
    t = t.set_column(t.schema.get_field_index("from_name"), "from_name", one)
    kinds = {c[0]: c[1] for c in C.COLUMNS[name]}
    literal = {c for c in C.HASHED[name] if constant_sql(t.column(c), kinds[c]) is not None}
    assert {"from_name", "was_cancelled", "lead_time", "labels", "extra"} <= literal
    assert ("ground_truth" in literal) == (n == 1)
    assert "value" not in literal  # a plain text column is read, not looked at
    assert row_hashes(t, name).to_pylist() == _hashes_of_every_column(t, name)


def _rows_by_task(table: pa.Table, name: str) -> dict[str, list]:
    hashed = list(C.HASHED[name])
    out: dict[str, list] = {}
    for r in table.select(hashed).to_pylist():
        out.setdefault(r["task_key"], []).append(r)
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(task_list(), task_list())
def test_differing_tasks_names_each_task_whose_rows_differ_once(tasks_a, tasks_b):
    """``differing_tasks`` (``Repo.touched_tasks``, the dry run) names exactly the tasks whose
    rows differ between two tables, each once: a task changed on both sides was named twice."""
    from annover.store.snapshots import differing_tasks

    name = "annotations"
    a, b = side(tasks_a).annotations, side(tasks_b).annotations
    got = differing_tasks(a, task_hashes(a, name), b, task_hashes(b, name)).to_pylist()
    ra, rb = _rows_by_task(a, name), _rows_by_task(b, name)
    want = {k for k in ra.keys() | rb.keys() if ra.get(k) != rb.get(k)}
    assert len(got) == len(set(got)), got
    assert set(got) == want
