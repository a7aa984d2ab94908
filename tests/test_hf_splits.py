"""``export --format hf`` of a version whose tasks have splits (``data.split``) writes a ``DatasetDict`` of them,
named as the hub names them (``validation`` for val), a task of no split beside others with one in ``train``;
``load_from_disk`` gives that dict, and ``snapshot --from`` the folder gives back the same tasks, annotations
and config (each task its ``data.split`` as it was). A version of no split is one ``Dataset``, as before.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import datasets
import pytest
from datasets import concatenate_datasets as concatenate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import annover
from annover.errors import UsageError
from annover.formats.hf import HUB_SPLITS, save, to_dataset
from annover.formats.label_studio import from_ls_tasks
from annover.formats.resolve import pick
from annover.formats.training import read_train
from annover.formats.yolo import split_of
from annover.model.canonical import content_id
from annover.model.config import LabelingConfig

from .test_hf_import import _ok, _versions
from .test_hf_whole import _ids_and_config, _into_a_new_repo

#: a task's split as data gives it: the three, their other names, one no split takes, none
_SPLIT = st.sampled_from(["train", "val", "test", "valid", "validation", "holdout", 3, None])


def _expected(tasks: list[dict]) -> dict[str, int] | None:
    """Rows per DatasetDict split the tasks' splits give (no split: train), None where no task has one."""
    given = [split_of(t["data"]) for t in tasks]
    if not any(given):
        return None
    out: dict[str, int] = {}
    for s in given:
        out[HUB_SPLITS[s or "train"]] = out.get(HUB_SPLITS[s or "train"], 0) + 1
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(version=_versions(), splits=st.lists(_SPLIT, min_size=5, max_size=5))
def test_property_a_version_of_splits_is_a_dataset_dict_that_reads_back_whole(version, splits):
    """Any version, its tasks of any split (or none): the layout its splits give, and the same tasks (their
    data.split as given), annotations and config read back with no config."""
    cfg_text, tasks = version
    for task, split in zip(tasks, splits):
        if split is not None:
            task["data"]["split"] = split
    t = from_ls_tasks(tasks, "generated", key="id")
    tables = {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions}
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="annover-test-") as folder:
        save(to_dataset(pick(tables), LabelingConfig(cfg_text, validate=False), [], None, t.tasks), folder,
             notes=notes)
        saved = datasets.load_from_disk(folder)
        back = read_train(Path(folder), "hf", None, True)
    expected = _expected(tasks)
    if expected is None:
        assert isinstance(saved, datasets.Dataset) and not notes
    else:
        assert isinstance(saved, datasets.DatasetDict)
        assert {name: part.num_rows for name, part in saved.items()} == expected
        assert list(saved) == [n for n in HUB_SPLITS.values() if n in expected]  # train, validation, test
        assert ("beside others that have one" in " ".join(notes)) == any(split_of(t["data"]) is None for t in tasks)
    assert back.config_text == cfg_text
    assert content_id(back.tasks, "tasks") == content_id(t.tasks, "tasks")
    assert content_id(back.annotations, "annotations") == content_id(t.annotations, "annotations")


def _splits() -> dict[str, str | None]:
    """HEAD's task key -> its data.split."""
    return {r["task_key"]: json.loads(r["data"]).get("split") for r in annover.load("HEAD", table="tasks").to_pylist()}


def _hub_dict(folder: Path) -> datasets.DatasetDict:
    """A text classification DatasetDict as the hub gives one: train, validation and test."""
    label = datasets.ClassLabel(names=["neg", "pos"])
    feats = datasets.Features({"text": datasets.Value("string"), "label": label})
    parts = {name: datasets.Dataset.from_dict({"text": [f"{name} review {i}" for i in range(n)],
                                               "label": [i % 2 for i in range(n)]}, features=feats)
             for name, n in (("train", 6), ("validation", 3), ("test", 2))}
    dd = datasets.DatasetDict(parts)
    dd.save_to_disk(str(folder))
    return dd


def test_a_dataset_dict_exported_is_one_with_the_same_splits_and_a_resplit_keeps_each_row_s(
        repo, tmp_path, monkeypatch):
    """The CLI: a hub DatasetDict snapshotted, exported: load_from_disk gives the same splits of the same rows,
    and snapshot --from it gives back the same snapshot ids; a row the user's datasets code moved into
    another split comes back in that split (the folder's split wins over the one its carried data named)."""
    given = _hub_dict(tmp_path / "hub")
    _ok("snapshot", "--from", str(tmp_path / "hub"), "-m", "hub")
    tasks, annotations, cfg = _ids_and_config()
    err = _ok("export", "HEAD", "--format", "hf", "--out", str(tmp_path / "hf"))
    assert "DatasetDict" in err
    dd = datasets.load_from_disk(str(tmp_path / "hf"))
    assert isinstance(dd, datasets.DatasetDict)
    assert {n: sorted(dd[n]["text"]) for n in dd} == {n: sorted(given[n]["text"]) for n in given}
    _into_a_new_repo(tmp_path, monkeypatch, tmp_path / "hf")
    assert _ids_and_config() == (tasks, annotations, cfg)
    before = _splits()
    moved = dd["test"][0]["task_key"]
    datasets.DatasetDict({"train": dd["train"], "validation": concatenate([dd["validation"], dd["test"].select([0])]),
                          "test": dd["test"].select(range(1, dd["test"].num_rows))}
                         ).save_to_disk(str(tmp_path / "resplit"))
    annover.init(tmp_path / "again")
    monkeypatch.chdir(tmp_path / "again")
    _ok("snapshot", "--from", str(tmp_path / "resplit"), "-m", "resplit")
    assert _splits() == {**before, moved: "val"}


def test_load_with_split_gives_the_rows_the_export_writes_there(repo, tmp_path):
    """annover.load(format="hf") is every task (a Dataset, as before); split= is that split's rows of the
    export's DatasetDict (val as validation); a split the export has not, split= of a version of no split,
    or split= without format="hf", is a UsageError."""
    hub = _hub_dict(tmp_path / "hub")
    _ok("snapshot", "--from", str(tmp_path / "hub"), "-m", "hub")
    _ok("export", "HEAD", "--format", "hf", "--out", str(tmp_path / "hf"))
    exported = datasets.load_from_disk(str(tmp_path / "hf"))
    whole = annover.load("HEAD", format="hf")
    assert isinstance(whole, datasets.Dataset) and whole.num_rows == sum(p.num_rows for p in exported.values())
    for name in exported:
        assert annover.load("HEAD", format="hf", split=name)["task_key"] == exported[name]["task_key"]
    assert annover.load("HEAD", format="hf", split="val")["task_key"] == exported["validation"]["task_key"]
    for wrong in ({"format": "hf", "split": "dev"}, {"split": "train"}):
        with pytest.raises(UsageError):
            annover.load("HEAD", **wrong)
    hub["train"].save_to_disk(str(tmp_path / "one"))  # a Dataset: its rows of no split
    _ok("snapshot", "--from", str(tmp_path / "one"), "-m", "no split")
    with pytest.raises(UsageError, match="no task of this version has a split"):
        annover.load("HEAD", format="hf", split="train")
