"""A Parquet file written by ``datasets`` (``Dataset.to_parquet``, the files the hub serves) is read as a
Hugging Face dataset where its features (in the schema's ``huggingface`` metadata) say what a flat reading
would lose: annover's own HF export converted to Parquet was refused ("no 'label' or 'labels' column"),
and a ``ClassLabel`` column's ids are labels by name only in those features. Other Parquet files are
read as before."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import annover
from annover.errors import EXIT_CODES, InputError

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


def _class_label_parquet(path: Path) -> pa.Table:
    """A Parquet file as ``datasets`` writes a hub dataset of a ClassLabel (``text``, ``label``); its table."""
    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"])})
    datasets.Dataset.from_dict({"text": ["a", "b"], "label": [0, 1]}, features=features).to_parquet(str(path))
    return pq.read_table(path)


def _git_state(root: Path) -> tuple[str, str]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True).stdout
    return git("rev-parse", "HEAD"), git("status", "--porcelain", "--untracked-files=all")


def _refused(tmp_path: Path, monkeypatch, name: str, *options: str) -> str:
    """The one line of stderr of a snapshot of ``tmp_path / name`` that failed with the exit code of bad input
    (documented), having written nothing."""
    repo = annover.init(tmp_path / "r")
    monkeypatch.chdir(repo.root)
    before = _git_state(repo.root)
    code, out, err = invoke("snapshot", "--from", str(tmp_path / name), *options, "-m", "x")
    assert (code, out) == (InputError.exit_code, ""), err
    assert code in EXIT_CODES
    assert _git_state(repo.root) == before
    assert len(err.strip().splitlines()) == 1 and err.startswith(f"Error: {tmp_path / name}: "), err
    return err


@pytest.mark.parametrize("column, feature", [("label", {"names": 5, "_type": "ClassLabel"}),
                                             ("text", {"dtype": "string", "_type": "NoSuchFeature"})])
def test_a_feature_datasets_cannot_load_is_named_by_its_column(tmp_path, monkeypatch, column, feature):
    """The error said which error ``datasets`` raised, not at which column, and to give the folder
    save_to_disk wrote: the user has one Parquet file."""
    table = _class_label_parquet(tmp_path / "ok.parquet")
    meta = json.loads(table.schema.metadata[b"huggingface"])
    meta["info"]["features"][column] = feature
    pq.write_table(table.replace_schema_metadata({b"huggingface": json.dumps(meta).encode()}),
                   tmp_path / "bad.parquet")
    err = _refused(tmp_path, monkeypatch, "bad.parquet")
    assert f"feature of column {column!r}" in err and "save_to_disk" not in err, err
    assert "to_parquet" in err and "replace_schema_metadata(None)" in err, err


@pytest.mark.parametrize("metadata, fault", [
    (b'{"info": {"features": {"text": ', "not JSON"),
    (b"[1, 2]", "it is [1, 2], not an object"),
    (b'{"info": {"features": ["text"]}}', "its info.features is ['text'], not an object")])
@pytest.mark.parametrize("options", [(), ("--format", "hf")])
def test_a_mangled_huggingface_metadata_is_said_not_a_missing_key_column(tmp_path, monkeypatch, metadata, fault,
                                                                         options):
    """A datasets file of a ClassLabel whose features cannot be read was read as flat rows, and refused
    for want of a 'task_key' column, saying nothing of the metadata at fault (read as a Hugging Face
    dataset, it said which error datasets raised)."""
    table = _class_label_parquet(tmp_path / "ok.parquet")
    pq.write_table(table.replace_schema_metadata({b"huggingface": metadata}), tmp_path / "mangled.parquet")
    err = _refused(tmp_path, monkeypatch, "mangled.parquet", *options)
    assert f"'huggingface' schema metadata (the features datasets wrote) cannot be read: {fault}" in err, err
    assert "replace_schema_metadata(None)" in err and "to_parquet" in err, err


@pytest.mark.parametrize("feature, values", [
    (datasets.ClassLabel(names=["neg", "pos"]), ["neg", "pos", "pos"]),
    (datasets.List(datasets.ClassLabel(names=["neg", "pos"])), [["neg"], ["pos", "neg"], []])])
@pytest.mark.parametrize("options", [(), ("--format", "hf")])
def test_a_class_label_on_a_column_of_label_names_is_refused_naming_the_column_and_its_fix(tmp_path, monkeypatch,
                                                                                           feature, values, options):
    """The features datasets wrote, on a column of the label names (pyarrow, or a tool writing the names): datasets
    reads the column as text and drops the ClassLabel without a word, and so did annover (the labels became task
    data). Refused naming the column; the fix the message gives (cast_column, to_parquet) reads as the labels."""
    rows = {"text": ["a", "b", "c"], "label": values}
    written = datasets.Dataset.from_dict({"text": rows["text"], "label": [[0] if isinstance(values[0], list) else 0
                                                                          for _ in values]},
                                         features=datasets.Features({"text": datasets.Value("string"),
                                                                     "label": feature}))
    written.to_parquet(str(tmp_path / "ids.parquet"))
    meta = pq.read_schema(tmp_path / "ids.parquet").metadata
    pq.write_table(pa.table(rows).replace_schema_metadata(meta), tmp_path / "names.parquet")
    assert datasets.Dataset(datasets.table.InMemoryTable(pq.read_table(tmp_path / "names.parquet"))).features["label"] \
        != feature  # what datasets does with the file: its ClassLabel dropped
    err = _refused(tmp_path, monkeypatch, "names.parquet", *options)
    assert "column 'label' holds " in err and "ClassLabel" in err and "ds.cast_column('label', " in err, err
    ds = datasets.Dataset.from_dict(rows).cast_column("label", feature)  # the fix
    ds.to_parquet(str(tmp_path / "fixed.parquet"))
    code, _, err = invoke("snapshot", "--from", str(tmp_path / "fixed.parquet"), "-m", "fixed")
    assert code == 0, err
    repo = annover.Repo(Path.cwd())
    texts = {r["task_key"]: json.loads(r["data"])["text"] for r in repo.load("HEAD", "tasks").to_pylist()}
    got = sorted((texts[r["task_key"]], sorted(json.loads(r["value"])["choices"]))
                 for r in repo.load("HEAD").to_pylist() if r["value"] is not None)  # [] of ClassLabels: no choice
    want = sorted((t, sorted(v if isinstance(v, list) else [v])) for t, v in zip(rows["text"], values) if v)
    assert got == want


def test_what_datasets_says_is_quoted_whole_in_one_line(tmp_path, monkeypatch):
    """datasets' list of its feature types (~280 characters) was cut at 200, mid-list; quoted whole now."""
    table = _class_label_parquet(tmp_path / "ok.parquet")
    meta = json.loads(table.schema.metadata[b"huggingface"])
    meta["info"]["features"]["label"]["_type"] = "Klass"
    pq.write_table(table.replace_schema_metadata({b"huggingface": json.dumps(meta).encode()}), tmp_path / "bad.parquet")
    with pytest.raises(ValueError) as said:
        datasets.Dataset(datasets.table.InMemoryTable(pq.read_table(tmp_path / "bad.parquet")))
    assert "Feature type 'Klass' not found" in str(said.value) and len(str(said.value)) > 200
    err = _refused(tmp_path, monkeypatch, "bad.parquet", "--format", "hf")
    assert f"({str(said.value)})" in err, err


@pytest.mark.parametrize("metadata", [None, b'{"info": {"features": ["text"]}}'])
def test_the_huggingface_metadata_is_parsed_once_a_snapshot(tmp_path, monkeypatch, metadata):
    """The detector and the reader after it (the Hugging Face one, or the flat one refusing a mangled metadata)
    asked the same file's metadata each, and each parsed it."""
    from annover.formats import hf

    table = _class_label_parquet(tmp_path / "ok.parquet")
    if metadata is not None:
        pq.write_table(table.replace_schema_metadata({b"huggingface": metadata}), tmp_path / "ok.parquet")
    hf._parsed.cache_clear()
    annover.init(tmp_path / "r")
    monkeypatch.chdir(tmp_path / "r")
    code, _, err = invoke("snapshot", "--from", str(tmp_path / "ok.parquet"), "-m", "once")
    assert code == (0 if metadata is None else InputError.exit_code), err
    assert hf._parsed.cache_info().misses == 1 and hf._parsed.cache_info().hits >= 1


def test_a_class_label_on_a_column_of_label_names_in_an_arrow_file_is_refused_too(tmp_path, monkeypatch):
    """An ``.arrow`` file (a save_to_disk shard) whose metadata names a ClassLabel for a text column: datasets
    memory-maps it and drops that ClassLabel as it does a Parquet file's."""
    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"])})
    ids = datasets.Dataset.from_dict({"text": ["a"], "label": [0]}, features=features)
    ids.to_parquet(str(tmp_path / "ids.parquet"))
    table = pa.table({"text": ["a", "b"], "label": ["neg", "pos"]}).replace_schema_metadata(
        pq.read_schema(tmp_path / "ids.parquet").metadata)
    with pa.OSFile(str(tmp_path / "names.arrow"), "wb") as f, pa.ipc.new_stream(f, table.schema) as w:
        w.write_table(table)
    assert datasets.Dataset.from_file(str(tmp_path / "names.arrow")).features["label"] == datasets.Value("string")
    err = _refused(tmp_path, monkeypatch, "names.arrow")
    assert "column 'label' holds string" in err and "Dataset.save_to_disk" in err, err
