"""``annover snapshot --from DIR --format hf`` read in batches (the same snapshot as read whole), and
folders no ``save_to_disk`` wrote: files named outside the folder, JSON that is not, too big or too deep,
Arrow files cut short or of other bytes, splits named as paths, class names a labeling config cannot hold.
Each is one line naming the file and the field, exit 3, nothing written.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import datasets
import pytest
from PIL import Image

from annover.formats import hf_read
from annover.formats.training import read_train
from annover.model.canonical import content_id

from .test_cli import invoke

NAMES = ["neg", "pos", "mixed"]


def _text(n: int, start: int = 0) -> datasets.Dataset:
    feats = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=NAMES)})
    return datasets.Dataset.from_dict({"text": [f"row {i} " + "w" * (i % 7) for i in range(n)],
                                       "label": [i % 4 - 1 for i in range(n)]}, features=feats)


def _png(i: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4 + i % 5, 3 + i % 3), (i % 256, 0, 0)).save(buf, "PNG" if i % 2 else "JPEG")
    return buf.getvalue()


def _images(n: int, start: int = 0) -> datasets.Dataset:
    """Images as bytes only (named by row and format) and as paths, boxes sized from each image's header."""
    feats = datasets.Features({"image": datasets.Image(), "objects": {
        "bbox": datasets.List(datasets.List(datasets.Value("float32"))),
        "category": datasets.List(datasets.ClassLabel(names=NAMES))}})
    return datasets.Dataset.from_dict({
        "image": [{"bytes": _png(i), "path": None if i % 3 else f"img{start + i}.png"} for i in range(n)],
        "objects": [{"bbox": [[0, 0, 1, 1]] * (i % 3), "category": [i % 3] * (i % 3)} for i in range(n)]},
        features=feats)


def _ids(folder: Path) -> tuple[str, str, str]:
    got = read_train(folder, "hf", None, True)
    return content_id(got.annotations, "annotations"), content_id(got.tasks, "tasks"), got.config_text


@pytest.mark.parametrize("make", [_text, _images], ids=["text", "images"])
def test_batches_give_the_snapshot_of_the_dataset_read_whole(tmp_path, monkeypatch, make):
    """Rows over several batches (of 7, a DatasetDict's splits of other lengths) read as in one batch."""
    n = 3 * 7 + 2
    folder = tmp_path / "ds"
    datasets.DatasetDict({"train": make(n), "validation": make(n // 2, n)}).save_to_disk(str(folder))
    monkeypatch.setattr(hf_read, "BATCH", n)
    whole = _ids(folder)
    monkeypatch.setattr(hf_read, "BATCH", 7)
    assert _ids(folder) == whole


# ---------------------------------------------------------------------------
# hostile folders


def _head() -> str | None:
    code, out, _ = invoke("show", "HEAD", "--json")
    return json.loads(out)["id"] if code == 0 else None


def _refused(folder: Path, *names: str) -> str:
    """The one line of exit 3 naming ``folder`` and ``names``, no traceback, nothing written."""
    head = _head()
    code, _, err = invoke("snapshot", "--from", str(folder), "--format", "hf", "-m", "hostile")
    assert code == 3, err
    line = err.strip()
    assert "\n" not in line and "Traceback" not in line, err
    for name in names:
        assert name in line, (name, line)
    assert _head() == head
    return line


def _saved(tmp_path: Path, splits: bool = False) -> Path:
    folder = tmp_path / "ds"
    (datasets.DatasetDict({"train": _text(5)}) if splits else _text(5)).save_to_disk(str(folder))
    return folder


def _edit(path: Path, change) -> None:
    value = json.loads(path.read_text())
    change(value)
    path.write_text(json.dumps(value))


def _data_file(folder: Path) -> Path:
    return folder / json.loads((folder / "state.json").read_text())["_data_files"][0]["filename"]


@pytest.mark.parametrize("where", ["relative", "absolute", "link"])
def test_a_data_file_named_outside_the_folder_is_refused(repo, tmp_path, where):
    """state.json naming a readable Arrow file outside the folder (or a link to one): datasets would read it."""
    folder = _saved(tmp_path, splits=True)
    split = folder / "train"
    outside = tmp_path / "x.arrow"
    inside = _data_file(split)
    shutil.copy(inside, outside)
    if where == "link":
        inside.unlink()
        inside.symlink_to(outside)
        _refused(folder, str(inside), "outside the dataset folder")
        return
    name = "../../x.arrow" if where == "relative" else str(outside)
    _edit(split / "state.json", lambda s: s["_data_files"][0].update(filename=name))
    _refused(folder, str(split / "state.json"), "_data_files", repr(name), "save_to_disk")


def test_a_split_named_as_a_path_is_refused(repo, tmp_path):
    folder = _saved(tmp_path, splits=True)
    _text(4).save_to_disk(str(tmp_path / "x"))
    _edit(folder / "dataset_dict.json", lambda d: d.update(splits=["train", "../x"]))
    _refused(folder, str(folder / "dataset_dict.json"), "splits", "'../x'")


@pytest.mark.parametrize("name", ["state.json", "dataset_info.json"])
def test_a_json_file_that_is_not_json_or_too_big_is_refused(repo, tmp_path, monkeypatch, name):
    folder = _saved(tmp_path)
    good = (folder / name).read_text()
    (folder / name).write_bytes(b"\xff{not json")
    _refused(folder, str(folder / name), "JSON")
    monkeypatch.setattr(hf_read, "JSON_LIMIT", len(good) + 10)
    (folder / name).write_text(good + " " * 11)  # valid JSON, one byte over the limit
    _refused(folder, str(folder / name), f"{len(good) + 11:,} bytes")


@pytest.mark.parametrize("name", ["dataset_info.json", "data"])
def test_a_pipe_named_as_a_file_of_the_folder_is_refused_without_waiting(repo, tmp_path, name):
    """A FIFO would block datasets' read for ever."""
    folder = _saved(tmp_path)
    path = folder / name if name != "data" else _data_file(folder)
    path.unlink()
    os.mkfifo(path)
    _refused(folder, str(path), "pipe")


@pytest.mark.parametrize("depth", [50, 5000])
def test_features_nested_deeper_than_any_dataset_are_refused(repo, tmp_path, depth):
    folder = _saved(tmp_path)
    deep = '{"feature": ' * depth + '{"dtype": "string", "_type": "Value"}' + ', "_type": "List"}' * depth
    _edit(folder / "dataset_info.json", lambda d: d["features"].update(text="DEEP"))
    info = folder / "dataset_info.json"
    info.write_text(info.read_text().replace('"DEEP"', deep))
    _refused(folder, str(folder / "dataset_info.json"), "features")


def test_a_feature_of_an_unknown_type_is_refused(repo, tmp_path):
    folder = _saved(tmp_path)
    _edit(folder / "dataset_info.json", lambda d: d["features"].update(label={"_type": "Nope", "names": NAMES}))
    _refused(folder, str(folder), "Nope")


@pytest.mark.parametrize("how", ["cut", "other bytes"])
def test_an_arrow_file_cut_short_or_not_arrow_is_refused(repo, tmp_path, how):
    folder = _saved(tmp_path)
    data = _data_file(folder)
    body = data.read_bytes()
    data.write_bytes(body[: len(body) * 2 // 3] if how == "cut" else b"PK\x03\x04" + body[4:])
    _refused(folder, str(folder), "save_to_disk")
    _refused(data, str(data), "save_to_disk")  # the .arrow file given itself


@pytest.mark.parametrize("names", [[1, 2, 3], ["ok", "bell\x07", "x"], ["ok", None, "x"]],
                         ids=["numbers", "control", "null"])
def test_class_names_a_config_cannot_hold_are_refused(repo, tmp_path, names):
    folder = _saved(tmp_path)
    _edit(folder / "dataset_info.json", lambda d: d["features"]["label"].update(names=names))
    _refused(folder, str(folder), "'label'", "ClassLabel")
