"""The files in schemas/ describe exactly what the code writes."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from annover.model import canonical as C
from annover.store.snapshots import read_manifest

from .test_deltas import chain_repo  # noqa: F401  (fixture: HEAD stored as a base and two deltas)

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"


@pytest.mark.parametrize("table", C.TABLES)
def test_table_schema_files_match_the_code(table):
    doc = json.loads((SCHEMAS / f"{table}.arrow.json").read_text())
    assert doc["table_schema"] == C.TABLE_SCHEMA_VERSION
    assert doc["key"] == C.KEYS[table]
    assert [(c["name"], c["type"], c["nullable"], c["role"]) for c in doc["columns"]] == \
        [tuple(c) for c in C.COLUMNS[table]]
    assert all(c["description"] for c in doc["columns"])
    # the Arrow schema the code writes has the same names, types and nullability
    s = C.schema(table)
    for c in doc["columns"]:
        f = s.field(c["name"])
        assert f.type == C.arrow_type(c["type"]) and f.nullable == c["nullable"]


def test_written_records_and_manifests_validate(two_rounds):
    repo, v1, v2 = two_rounds
    vs = json.loads((SCHEMAS / "version.schema.json").read_text())
    ms = json.loads((SCHEMAS / "snapshot.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(vs)
    for v in (v1, v2):
        jsonschema.validate(v.record, vs)
        for name in ("tasks", "annotations"):
            jsonschema.validate(read_manifest(repo.store, v.snapshot(name)), ms)
        for mv in v.model_versions:
            jsonschema.validate(read_manifest(repo.store, v.snapshot("predictions", mv)), ms)


def test_schema_rejects_a_record_with_a_credential(two_rounds):
    repo, v1, v2 = two_rounds
    vs = json.loads((SCHEMAS / "version.schema.json").read_text())
    bad = json.loads(json.dumps(v2.record))
    bad["origin"]["api_key"] = "secret"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, vs)


def test_parquet_parts_carry_the_canonical_schema_and_no_pandas_metadata(two_rounds):
    import pyarrow as pa
    import pyarrow.parquet as pq

    repo, v1, v2 = two_rounds
    doc = json.loads((SCHEMAS / "annotations.arrow.json").read_text())
    want = C.schema("annotations").remove_metadata()
    for c in doc["part_columns"]:
        want = want.append(pa.field(c["name"], getattr(pa, c["type"])(), nullable=c["nullable"]))
    for p in read_manifest(repo.store, v2.snapshot("annotations"))["parts"]:
        f = pq.ParquetFile(pa.BufferReader(repo.store.path(p["oid"]).read_bytes()))
        assert f.schema_arrow.remove_metadata().equals(want, check_metadata=False)
        assert b"pandas" not in (f.schema_arrow.metadata or {})
        assert f.num_row_groups == 1


@pytest.mark.parametrize("table", C.TABLES)
def test_every_table_documents_the_same_part_columns(table):
    from annover.store.snapshots import TASK_HASH

    doc = json.loads((SCHEMAS / f"{table}.arrow.json").read_text())
    assert [c["name"] for c in doc["part_columns"]] == [TASK_HASH]


def test_delta_manifests_validate(chain_repo):  # noqa: F811
    """A merge-on-read manifest (annover.snapshot/2: a base and deltas) validates; one that mixes
    the two layouts, or a delta without its fields, does not."""
    from annover.store import snapshots as S

    ms = json.loads((SCHEMAS / "snapshot.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(ms)
    seen = set()
    for vid in [chain_repo.head(), *chain_repo.show("HEAD").parents]:
        m = read_manifest(chain_repo.store, chain_repo.show(vid).snapshot("annotations"))
        jsonschema.validate(m, ms)
        seen.add(m["schema"])
    assert S.DELTA_SCHEMA in seen
    m = read_manifest(chain_repo.store, chain_repo.show("HEAD").snapshot("annotations"))
    for bad in ({**m, "parts": m["base"]}, {**m, "deltas": [{"upserts": None}]}, {**m, "schema": "annover.snapshot/1"},
                {**m, "extra": 1}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, ms)
