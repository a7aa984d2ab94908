"""YOLO datasets in splits: Roboflow's layout (``train/images``, ``train/labels``, ``valid/...``,
``test/...``, ``data.yaml`` naming ``../train/images``) and Ultralytics' own (``images/train``,
``labels/train``). Import keeps each task's split (``data.split``); export writes the splits in the
same layout, with a data.yaml whose folders Ultralytics' path rule resolves to the same images."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image as PILImage

from annover.formats.training import read_train, render_train
from annover.formats.yolo import SPLITS

from .conftest import shared_corpus
from .test_cli import invoke

CORPUS = shared_corpus("formats")

#: Ultralytics' IMG_FORMATS (ultralytics/data/utils.py)
IMG_FORMATS = {"bmp", "dng", "jpeg", "jpg", "mpo", "png", "tif", "tiff", "webp", "pfm", "heic"}


def ultralytics_pairs(yaml_file: Path) -> dict[str, set[tuple[str, str]]]:
    """Per split of ``yaml_file``, the (image, label file) pairs Ultralytics trains on, relative to the
    YAML's folder, by its documented rule (``check_det_dataset``, ``get_img_files``, ``img2label_paths``;
    the package needs torch, so it is not installed): the root is ``path`` or the YAML's folder; a
    split ``x`` is ``root/x``, or ``root/x[3:]`` when that does not exist and ``x`` starts with ``../``;
    a folder's images are every image file below it, a file's the image paths it lists (``./`` the
    list's folder); an image's label file is its path with the last ``/images/`` replaced by
    ``/labels/`` and the extension by ``.txt``."""
    data = yaml.safe_load(yaml_file.read_text())
    assert "train" in data and "val" in data, "Ultralytics needs train and val"
    root = Path(data.get("path") or yaml_file.parent)
    out = {}
    for k in ("train", "val", "test"):
        if not data.get(k):
            continue
        files = []
        for v in data[k] if isinstance(data[k], list) else [data[k]]:
            x = (root / v).resolve()
            if not x.exists() and v.startswith("../"):
                x = (root / v[3:]).resolve()
            if x.is_file():  # a list of images, './' read from the list's folder (absolute lines here)
                files += [Path(ln.replace("./", str(x.parent) + os.sep) if ln.startswith("./") else ln)
                          for ln in x.read_text().strip().splitlines() if ln.rsplit(".", 1)[-1].lower() in IMG_FORMATS]
                continue
            files += [p for p in x.rglob("*.*") if p.suffix[1:].lower() in IMG_FORMATS]
        sa, sb = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
        out[k] = {(Path(f).relative_to(yaml_file.parent.resolve()).as_posix(),
                   Path(sb.join(str(f).rsplit(sa, 1)).rsplit(".", 1)[0] + ".txt")
                   .relative_to(yaml_file.parent.resolve()).as_posix()) for f in files}
    return out


def _roboflow(root: Path, lines: dict[str, str], sizes: dict[str, tuple[int, int]]) -> Path:
    """A folder as Roboflow exports YOLO: ``<split>/images``, ``<split>/labels``, READMEs at the top,
    and a data.yaml naming the folders from one level down (``../train/images``)."""
    root.mkdir(parents=True)
    for rel, text in lines.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    for rel, (w, h) in sizes.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        PILImage.new("RGB", (w, h)).save(root / rel)
    (root / "data.yaml").write_text(
        "train: ../train/images\nval: ../valid/images\ntest: ../test/images\n\nnc: 4\n"
        "names: ['closed_door', 'opened_door', 'bus', 'number']\n\nroboflow:\n  workspace: w\n  project: p\n"
        "  version: 1\n  license: CC BY 4.0\n  url: https://universe.roboflow.com/w/p/dataset/1\n")
    (root / "README.dataset.txt").write_text("# doors > 2026-12-01\nhttps://universe.roboflow.com/w/p\n")
    (root / "README.roboflow.txt").write_text("\nThis dataset was exported via roboflow.com\n")
    return root


def _corpus_split(root: Path) -> Path:
    """The label files of the corpus' YOLO sample (written by label-studio-sdk, full-precision
    numbers) dealt into Roboflow's three splits, with images of the sizes the sample's images have."""
    src = CORPUS / "yolo_detect_lssdk"
    sizes = json.loads((src / "sizes.json").read_text())
    splits = {"img_1": "train", "img_2": "train", "img_3": "train", "img_4": "valid", "img_5": "valid",
              "img_6": "test", "img_7": "test"}
    lines, images = {}, {}
    for img, s in sizes.items():
        stem = Path(img).stem
        lines[f"{splits[stem]}/labels/{stem}.txt"] = (src / "labels" / f"{stem}.txt").read_text()
        images[f"{splits[stem]}/images/{Path(img).name}"] = (s["width"], s["height"])
    images["valid/images/bg.jpg"] = (64, 48)  # a background image: no label file
    return _roboflow(root, lines, images)


def _parsed(root: Path) -> dict[str, list[list[float]]]:
    return {f.relative_to(root).as_posix(): sorted([float(x) for x in ln.split()] for ln in f.read_text().splitlines()
                                                   if ln.strip())
            for f in sorted(root.rglob("*.txt")) if f.parent.name == "labels"}


def _write(files: dict[str, bytes], out: Path) -> Path:
    for rel, data in files.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
    return out


def _images_of_sizes(out: Path) -> None:
    """Blank images where sizes.json (written by the export) says the images lie."""
    for rel, s in json.loads((out / "sizes.json").read_text()).items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        PILImage.new("RGB", (s["width"], s["height"])).save(out / rel)


def test_a_roboflow_split_folder_snapshots_with_its_splits_and_exports_back_in_them(repo, tmp_path):
    """Roboflow's layout was 'not a training-format folder' without --format, and with it the
    READMEs at the top were read as label files (exit 3); every split is now read, each task keeps
    its split, and the export writes the same files where Ultralytics looks for them."""
    src = _corpus_split(tmp_path / "rf")
    code, _, err = invoke("snapshot", "--from", str(src), "-m", "roboflow")
    assert code == 0, err
    tasks = {r["task_key"]: json.loads(r["data"]) for r in repo.load("HEAD", "tasks").to_pylist()}
    assert {k: d.get("split") for k, d in tasks.items()} == {
        "img_1": "train", "img_2": "train", "img_3": "train", "img_4": "val", "img_5": "val", "bg": "val",
        "img_6": "test", "img_7": "test"}
    assert tasks["img_4"]["image"] == "valid/images/img_4.png"
    out = tmp_path / "out"
    code, _, err = invoke("export", "--format", "yolo", "--out", str(out))
    assert code == 0, err
    a, b = _parsed(src), _parsed(out)
    assert b.pop("valid/labels/bg.txt") == []  # the background image's empty label file
    assert a.keys() == b.keys()
    for k in a:  # the same numbers within annover's 1e-7 of the image size
        assert all(len(x) == len(y) and all(abs(p - q) <= 2e-7 for p, q in zip(x, y)) for x, y in zip(a[k], b[k]))
    doc = yaml.safe_load((out / "data.yaml").read_text())
    assert (doc["train"], doc["val"], doc["test"]) == ("train/images", "valid/images", "test/images")
    assert doc["names"] == {0: "closed_door", 1: "opened_door", 2: "bus", 3: "number"}
    _images_of_sizes(out)
    want = ultralytics_pairs(src / "data.yaml")
    assert ultralytics_pairs(out / "data.yaml") == want and set(want) == {"train", "val", "test"}
    assert all((out / lbl).is_file() for pairs in want.values() for _, lbl in pairs if "bg" not in lbl)


def test_split_labels_come_back_byte_for_byte_where_the_numbers_allow(tmp_path):
    """Numbers of up to 7 decimals (what annover keeps of a percent) are written back as they were."""
    lines = {"train/labels/a.txt": "0 0.5 0.25 0.1 0.2\n1 0.123457 0.5 0.0625 0.75\n",
             "valid/labels/b.txt": "2 0.3 0.3 0.2 0.2\n", "test/labels/c.txt": ""}
    src = _roboflow(tmp_path / "rf", lines, {"train/images/a.jpg": (640, 480), "valid/images/b.jpg": (32, 32),
                                             "test/images/c.png": (20, 10)})
    t = read_train(src, "yolo", None, True)
    out = _write(render_train("yolo", {"tasks": t.tasks, "annotations": t.annotations,
                                       "predictions": t.predictions}, t.config_text).files, tmp_path / "out")
    for rel, text in lines.items():
        assert (out / rel).read_text() == text


def test_the_ultralytics_layout_keeps_its_splits_and_path(tmp_path):
    """``images/train``, ``labels/val``... with ``path`` (coco8.yaml's way): the splits are read
    relative to ``path`` and written back as ``images/train``, ``images/val``."""
    root = tmp_path / "u"
    for split, stem in (("train", "a"), ("val", "b")):
        (root / "ds" / "labels" / split).mkdir(parents=True)
        (root / "ds" / "labels" / split / f"{stem}.txt").write_text("0 0.5 0.5 0.2 0.2\n")
        (root / "ds" / "images" / split).mkdir(parents=True)
        PILImage.new("RGB", (40, 30)).save(root / "ds" / "images" / split / f"{stem}.jpg")
    (root / "data.yaml").write_text("path: ds\ntrain: images/train\nval: images/val\nnames:\n  0: cat\n")
    t = read_train(root, "yolo", None, True)
    data = {r["task_key"]: json.loads(r["data"]) for r in t.tasks.to_pylist()}
    assert data == {"a": {"image": "ds/images/train/a.jpg", "split": "train"},
                    "b": {"image": "ds/images/val/b.jpg", "split": "val"}}
    r = render_train("yolo", {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions},
                     t.config_text)
    out = _write(r.files, tmp_path / "out")
    assert yaml.safe_load((out / "data.yaml").read_text())["train"] == "ds/images/train"
    _images_of_sizes(out)
    assert ultralytics_pairs(out / "data.yaml") == {
        "train": {("ds/images/train/a.jpg", "ds/labels/train/a.txt")},
        "val": {("ds/images/val/b.jpg", "ds/labels/val/b.txt")}}


def test_a_folder_of_no_split_reads_and_writes_as_before(tmp_path):
    """annover's export of a version without splits says ``train: images`` and ``val: images``: read
    back, its tasks have no split (both name one folder) and the data.yaml written is the same."""
    src = CORPUS / "yolo_detect_lssdk"
    t = read_train(src, "yolo", None, True)
    r = render_train("yolo", {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions},
                     t.config_text)
    out = _write(r.files, tmp_path / "out")
    doc = yaml.safe_load((out / "data.yaml").read_text())
    assert (doc["train"], doc["val"], "test" in doc, "path" in doc) == ("images", "images", False, False)
    t2 = read_train(out, "yolo", None, True)
    assert t2.tasks.equals(t.tasks) and not any("split" in json.loads(d) for d in t2.tasks.column("data").to_pylist())


def test_tasks_with_a_split_and_a_bare_file_name_go_to_their_split_folder(repo, tmp_path):
    """Label Studio tasks whose data has a split (``valid`` read as ``val``) and an image URL are
    written to ``images/<split>/`` and ``labels/<split>/``, Ultralytics' layout; data.yaml names them."""
    box = {"from_name": "label", "to_name": "image", "type": "rectanglelabels", "original_width": 10,
           "original_height": 10, "value": {"x": 10, "y": 10, "width": 50, "height": 50, "rotation": 0,
                                            "rectanglelabels": ["a"]}}
    tasks = [{"id": i, "data": {"image": f"s3://bucket/{n}.jpg", "split": s}, "annotations": [{"result": [box]}]}
             for i, (n, s) in enumerate([("x", "train"), ("y", "valid"), ("z", None)], 1)]
    (tmp_path / "t.json").write_text(json.dumps(tasks))
    (tmp_path / "c.xml").write_text('<View><Image name="image" value="$image"/><RectangleLabels name="label" '
                                    'toName="image"><Label value="a"/></RectangleLabels></View>')
    repo.snapshot(str(tmp_path / "t.json"), config=str(tmp_path / "c.xml"), message="splits")
    out = tmp_path / "out"
    code, _, err = invoke("export", "--format", "yolo", "--out", str(out))
    assert code == 0, err
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.txt")) == [
        "classes.txt", "labels/train/x.txt", "labels/val/y.txt", "labels/z.txt"]
    doc = yaml.safe_load((out / "data.yaml").read_text())
    assert (doc["train"], doc["val"]) == (["images/train", "images"], "images/val")
    assert "1 image(s) have no split" in err


def test_a_yolo_label_file_with_dots_in_its_stem_and_no_image_exports_back(tmp_path):
    """``frame.001.txt`` without images: read as the image ``images/frame.001`` (no extension), whose
    label file was ``labels/frame.txt`` on export (``.001`` taken for an extension), the same as
    ``frame.002``'s: refused as two images of one file. A suffix that is no image's is kept."""
    root = tmp_path / "y"
    (root / "labels").mkdir(parents=True)
    (root / "classes.txt").write_text("a\n")
    for n in ("frame.001", "frame.002"):
        (root / "labels" / f"{n}.txt").write_text("0 0.5 0.5 0.25 0.25\n")
    t = read_train(root, "yolo", None, True)
    r = render_train("yolo", {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions},
                     t.config_text)
    assert r.files["labels/frame.001.txt"] == r.files["labels/frame.002.txt"] == b"0 0.5 0.5 0.25 0.25\n"


@pytest.mark.parametrize("name", ["a.JPG", "v.mp4", "x.heic"])
def test_a_label_file_drops_the_extensions_ultralytics_reads(name):
    from annover.formats.yolo import label_path

    assert label_path(name) == f"labels/{name.rsplit('.', 1)[0]}.txt"
    assert label_path("train/images/" + name) == f"train/labels/{name.rsplit('.', 1)[0]}.txt"


# ---------------------------------------------------------------- splits given as lists of images


def _autosplit(root: Path, splits: dict[str, str], backgrounds: dict[str, str] = {}) -> Path:
    """A folder as Ultralytics' autosplit leaves it: every image in ``images/``, its labels in
    ``labels/``, each split a list of images (``autosplit_train.txt``: ``./images/a.jpg`` a line)."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    lists: dict[str, list[str]] = {}
    for stem, split in {**splits, **backgrounds}.items():
        PILImage.new("RGB", (40, 30)).save(root / "images" / f"{stem}.jpg")
        if stem in splits:
            (root / "labels" / f"{stem}.txt").write_text("0 0.5 0.5 0.25 0.5\n")
        lists.setdefault(split, []).append(f"./images/{stem}.jpg")
    for split, lines in lists.items():
        (root / f"autosplit_{split}.txt").write_text("\n".join(lines) + "\n")
    (root / "data.yaml").write_text("path: .\n" + "".join(f"{k}: autosplit_{k}.txt\n" for k in lists)
                                    + "names:\n  0: cat\n")
    return root


def _splits_of(t) -> dict[str, str | None]:
    return {r["task_key"]: json.loads(r["data"]).get("split") for r in t.tasks.to_pylist()}


def test_a_split_given_as_a_list_of_images_gives_each_listed_image_its_split(repo, tmp_path):
    """``train: autosplit_train.txt`` (Ultralytics reads a file there as a list of images): the tasks
    had no split; each listed image now has its list's, ``./x`` read from the list's folder, a plain
    relative line from the dataset's root, an absolute one as it is, a background image too."""
    src = _autosplit(tmp_path / "auto", {"a": "train", "b": "train", "c": "val"}, {"bg": "val"})
    with (src / "autosplit_train.txt").open("a") as f:
        f.write(f"{src / 'images' / 'd.jpg'}\nimages/e.jpg\nREADME.md\n\n")  # README: no image, skipped
    for stem in "de":
        PILImage.new("RGB", (40, 30)).save(src / "images" / f"{stem}.jpg")
        (src / "labels" / f"{stem}.txt").write_text("0 0.5 0.5 0.25 0.5\n")
    code, _, err = invoke("snapshot", "--from", str(src), "-m", "autosplit")
    assert code == 0, err
    tasks = {r["task_key"]: json.loads(r["data"]) for r in repo.load("HEAD", "tasks").to_pylist()}
    assert {k: d.get("split") for k, d in tasks.items()} == {
        "a": "train", "b": "train", "c": "val", "bg": "val", "d": "train", "e": "train"}
    # written back: images stay in images/, each split a list of them (folders would give each split all)
    out = tmp_path / "out"
    code, _, err = invoke("export", "--format", "yolo", "--out", str(out))
    assert code == 0, err
    doc = yaml.safe_load((out / "data.yaml").read_text())
    assert (doc["train"], doc["val"]) == ("train.txt", "val.txt")
    _images_of_sizes(out)
    assert ultralytics_pairs(out / "data.yaml") == {
        "train": {(f"images/{k}.jpg", f"labels/{k}.txt") for k in "abde"},
        "val": {("images/c.jpg", "labels/c.txt"), ("images/bg.jpg", "labels/bg.txt")}}
    assert _splits_of(read_train(out, "yolo", None, True)) == {k: d.get("split") for k, d in tasks.items()}


@pytest.mark.parametrize("line", ["../outside.jpg", "./../outside.jpg", "/etc/outside.jpg", "link/../../outside.jpg"])
def test_a_listed_image_outside_the_dataset_folder_is_refused(repo, tmp_path, line):
    src = _autosplit(tmp_path / "auto", {"a": "train", "c": "val"})
    PILImage.new("RGB", (40, 30)).save(tmp_path / "outside.jpg")
    (src / "link").symlink_to(tmp_path)  # inside by its name, outside where it leads
    with (src / "autosplit_val.txt").open("a") as f:
        f.write(line + "\n")
    head = repo.head()
    code, out, err = invoke("snapshot", "--from", str(src), "-m", "escapes")
    assert (code, out) == (3, "") and len(err.splitlines()) == 1, err
    assert f"autosplit_val.txt: line 2: {line!r} is outside the dataset folder" in err, err
    assert repo.head() == head


@pytest.mark.parametrize("entry", ["../outside/images", "{abs}/outside/images", "link/../../outside/images",
                                   "../outside/val.txt"])
def test_a_split_folder_outside_the_dataset_folder_is_refused_naming_data_yaml_and_the_key(repo, tmp_path, entry):
    """data.yaml's ``val:`` naming a folder (or list) that leaves the dataset folder as written is
    refused as a list's line is, naming data.yaml, the key and the path; it was skipped in silence.
    A path that is nowhere is still skipped (Roboflow names a ``test`` it has no folder for), and a
    link inside the folder is read wherever it leads."""
    src = _autosplit(tmp_path / "auto", {"a": "train", "c": "val"})
    (tmp_path / "outside" / "images").mkdir(parents=True)
    PILImage.new("RGB", (40, 30)).save(tmp_path / "outside" / "images" / "b.jpg")
    (tmp_path / "outside" / "val.txt").write_text("./images/b.jpg\n")
    (src / "link").symlink_to(tmp_path)
    entry = entry.format(abs=tmp_path)
    (src / "data.yaml").write_text(f"train: autosplit_train.txt\nval: {entry}\ntest: ../test/images\n"
                                   "names:\n  0: cat\n")
    head = repo.head()
    code, out, err = invoke("snapshot", "--from", str(src), "-m", "escapes")
    assert (code, out) == (3, "") and len(err.splitlines()) == 1, err
    assert f"data.yaml: val: {entry!r} is outside the dataset folder" in err and " — move or copy" in err, err
    assert repo.head() == head
    (src / "data.yaml").write_text("train: autosplit_train.txt\nval: ../nowhere/images\nnames:\n  0: cat\n")
    assert _splits_of(read_train(src, "yolo", None, True)) == {"a": "train", "c": None}
    (src / "data.yaml").write_text("train: autosplit_train.txt\nval: link/outside/images\nnames:\n  0: cat\n")
    assert _splits_of(read_train(src, "yolo", None, True)) == {"a": "train", "c": None, "b": "val"}  # a link: followed


@pytest.mark.parametrize("how", ["list", "folder"])
def test_an_image_linked_from_inside_the_dataset_folder_is_read_listed_or_in_a_folder(repo, tmp_path, how):
    """The path as the list or data.yaml writes it must stay in the folder; a link there is read
    wherever it leads, by a list as by a folder split (a list refused it; DVC's symlink cache makes
    every tracked image such a link: there, autosplit's lists could not be read at all)."""
    src = _autosplit(repo.root / "auto", {"a": "train", "c": "val"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    PILImage.new("RGB", (64, 48)).save(elsewhere / "d.jpg")
    (src / "images" / "d.jpg").symlink_to(elsewhere / "d.jpg")  # one link of the user's own
    (src / "labels" / "d.txt").write_text("0 0.5 0.5 0.25 0.5\n")
    if how == "list":
        with (src / "autosplit_val.txt").open("a") as f:
            f.write("./images/d.jpg\n")
    else:
        (src / "data.yaml").write_text("train: images\nnames:\n  0: cat\n")
    dvc = str(Path(sys.executable).with_name("dvc"))
    for args in (["config", "cache.type", "symlink"], ["add", "-q", "auto/images"]):  # the others: links into the cache
        subprocess.run([dvc, *args], cwd=repo.root, check=True, capture_output=True)
    assert all((src / "images" / f"{k}.jpg").is_symlink() for k in "acd")
    code, out, err = invoke("snapshot", "--from", str(src), "-m", "linked")
    assert code == 0, err
    tasks = {r["task_key"]: json.loads(r["data"]) for r in repo.load("HEAD", "tasks").to_pylist()}
    want = {"a": "train", "c": "val", "d": "val"} if how == "list" else dict.fromkeys("acd", "train")
    assert {k: d.get("split") for k, d in tasks.items()} == want
    sizes = {r["task_key"]: json.loads(r["region"]) for r in repo.load("HEAD").to_pylist()}
    assert (sizes["d"]["original_width"], sizes["d"]["original_height"]) == (64, 48)  # read through the link


def test_a_listed_image_that_is_not_there_is_refused_naming_the_list_and_line(repo, tmp_path):
    src = _autosplit(tmp_path / "auto", {"a": "train", "c": "val"})
    (src / "autosplit_train.txt").write_text("./images/a.jpg\n./images/gone.jpg\n")
    code, out, err = invoke("snapshot", "--from", str(src), "-m", "missing")
    assert (code, out) == (3, "") and len(err.splitlines()) == 1, err
    assert "autosplit_train.txt: line 2: image 'images/gone.jpg' is not in the dataset folder" in err, err
    # sizes.json stands for the images (a dataset shipped without them)
    (src / "sizes.json").write_text(json.dumps({f"images/{k}.jpg": {"width": 40, "height": 30}
                                                for k in ("a", "c", "gone")}))
    t = read_train(src, "yolo", None, True)
    assert _splits_of(t) == {"a": "train", "c": "val", "gone": "train"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(splits=st.dictionaries(st.sampled_from("abcdefgh"), st.sampled_from(SPLITS), min_size=1))
def test_splits_in_one_folder_come_back_from_their_lists(tmp_path_factory, splits):
    """A round trip: a folder of images of several splits, read, written (lists where the splits share
    the folder, folders otherwise) and read again, keeps each image's split."""
    src = _autosplit(tmp_path_factory.mktemp("auto"), splits)
    t = read_train(src, "yolo", None, True)
    assert _splits_of(t) == splits
    r = render_train("yolo", {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions},
                     t.config_text)
    out = _write(r.files, tmp_path_factory.mktemp("out"))
    assert _splits_of(read_train(out, "yolo", None, True)) == splits
    assert ("train.txt" in r.files or "val.txt" in r.files or "test.txt" in r.files) == (len(set(splits.values())) > 1)
