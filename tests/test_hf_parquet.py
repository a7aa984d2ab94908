"""A Parquet file written by ``datasets`` (``Dataset.to_parquet``, the files the hub serves) is read as a
Hugging Face dataset where its features (in the schema's ``huggingface`` metadata) say what a flat reading
would lose: annover's own HF export converted to Parquet was refused ("no 'label' or 'labels' column"),
and a ``ClassLabel`` column's ids are labels by name only in those features. Other Parquet files are
read as before."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq

import annover

from .conftest import shared_corpus
from .test_cli import invoke

LS = shared_corpus("label-studio")


def _ids(repo: annover.Repo) -> dict:
    return {k: v["id"] for k, v in repo.show("HEAD").record["tables"].items() if k != "predictions"}


def test_annover_s_hf_export_as_parquet_reads_back_as_its_folder_does(tmp_path, monkeypatch):
    src = annover.init(tmp_path / "src")
    src.snapshot(str(LS / "fe_sentiment_two_annotators.json"), config=str(LS / "fe_sentiment_two_annotators.xml"),
                 message="one")
    src.export("HEAD", "hf", tmp_path / "hf", resolve="latest")
    datasets.load_from_disk(str(tmp_path / "hf")).to_parquet(str(tmp_path / "v1.parquet"))
    folder, parquet = annover.init(tmp_path / "a"), annover.init(tmp_path / "b")
    folder.snapshot(str(tmp_path / "hf"), message="folder")
    monkeypatch.chdir(tmp_path / "b")
    code, _, err = invoke("snapshot", "--from", str(tmp_path / "v1.parquet"), "-m", "parquet")
    assert code == 0, err
    assert _ids(parquet) == _ids(folder)
    assert parquet.show("HEAD").record["config"] == folder.show("HEAD").record["config"]


def test_a_hub_parquet_s_class_ids_are_read_as_their_names(tmp_path, monkeypatch):
    names = ["neg", "pos", "neutral"]
    rows = {"text": [f"review {i}" for i in range(7)], "label": [i % 3 for i in range(7)]}
    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=names)})
    datasets.Dataset.from_dict(rows, features=features).to_parquet(str(tmp_path / "train.parquet"))
    repo = annover.init(tmp_path / "r")
    monkeypatch.chdir(tmp_path / "r")
    code, _, err = invoke("snapshot", "--from", str(tmp_path / "train.parquet"), "-m", "hub")
    assert code == 0, err
    got = {}
    for r in repo.load("HEAD").to_pylist():
        got[json.loads(repo.load("HEAD", "tasks", tasks=[r["task_key"]]).column("data")[0].as_py())["text"]] = \
            json.loads(r["value"])["choices"]
    assert got == {t: [names[i]] for t, i in zip(rows["text"], rows["label"])}


def test_parquet_that_datasets_wrote_without_class_labels_stays_flat_rows(tmp_path, monkeypatch):
    """Plain values (a string label, a task key): the flat reader's file, metadata or not; and a
    ``huggingface`` metadata that is not JSON is no reason to refuse it."""
    rows = {"task_key": ["a", "b"], "text": ["x", "y"], "label": ["cat", "dog"]}
    cfg = tmp_path / "cfg.xml"
    cfg.write_text('<View><Text name="text" value="$text"/><Choices name="label" toName="text">'
                   '<Choice value="cat"/><Choice value="dog"/></Choices></View>')
    datasets.Dataset.from_dict(rows).to_parquet(str(tmp_path / "flat.parquet"))
    t = pq.read_table(tmp_path / "flat.parquet")
    broken = t.replace_schema_metadata({b"huggingface": b"{not json"})
    pq.write_table(broken, tmp_path / "broken.parquet")
    for name in ("flat.parquet", "broken.parquet"):
        repo = annover.init(tmp_path / name.split(".")[0])
        monkeypatch.chdir(repo.root)
        code, _, err = invoke("snapshot", "--from", str(tmp_path / name), "--config", str(cfg), "-m", "flat")
        assert code == 0, (name, err)
        got = sorted((r["task_key"], json.loads(r["value"])["choices"][0]) for r in repo.load("HEAD").to_pylist())
        assert got == sorted(zip(rows["task_key"], rows["label"])), name
    assert pa.types.is_string(t.schema.field("label").type)
