"""YOLO import reads a folder as Ultralytics reads it: what its loader (``check_det_dataset``,
``verify_image_label``) accepts is read with the same meaning, with a warning where it warns
(duplicate lines dropped, boxes beside polygons), and what it refuses stays refused with a one-line
error. A pose folder's ``flip_idx`` is kept through import and export. Real folders made here and
the shared corpus's YOLO samples, read in place."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import annover
from annover.formats import yolo
from annover.formats.train import TrainInput
from annover.formats.training import read_train, render_train
from annover.model.config import LabelingConfig

from .conftest import shared_corpus

CORPUS = shared_corpus("formats")
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus of training formats is not here")


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run([sys.executable, "-m", "annover", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=120)


def _folder(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def _tables(t) -> dict:
    return {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions}


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git/" not in p.as_posix() + "/" and "/.git/" not in "/" + p.as_posix()}


@pytest.fixture
def empty_repo(tmp_path, monkeypatch):
    monkeypatch.setenv("ANNOVER_REMOTE_HOME", str(tmp_path / "remotes"))
    root = tmp_path / "repo"
    annover.init(root)
    return root


def _refused(root: Path, src: Path, *says: str) -> None:
    """``snapshot --from src`` is exit 3, one line naming what is wrong, no traceback, nothing written."""
    before = _tree(root)
    p = _cli("snapshot", "--from", str(src), "--format", "yolo", "-m", "bad", cwd=root)
    assert p.returncode == 3, p.stderr
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr and p.stderr.startswith("Error: "), p.stderr
    for s in says:
        assert s in p.stderr, p.stderr
    assert _tree(root) == before


def _results(t: TrainInput) -> list[list[dict]]:
    """Each task's regions, as the reader gives them (Label Studio results)."""
    return [a["result"] for task in t.tasks for a in task["annotations"]]


# ---------------------------------------------------------------------------
# flip_idx: kept through import and export


POSE = "0 0.5 0.5 0.4 0.4 0.3 0.3 2 0.6 0.3 2 0.5 0.6 1\n"


def _pose(root: Path, yaml_extra: str) -> Path:
    return _folder(root, {"data.yaml": "kpt_shape: [3, 3]\nnames: [face]\n" + yaml_extra, "labels/a.txt": POSE,
                          "sizes.json": json.dumps({"images/a.jpg": {"width": 100, "height": 80}})})


@pytest.mark.parametrize("kpt_names, flip", [
    ("kpt_names: [eye_1, eye_2, mouth]\n", [1, 0, 2]),  # names of no side: name pairing finds no flip
    ("", [1, 0, 2]),  # no kpt_names: kp_0, kp_1, kp_2
    ("kpt_names: [a, b, c]\n", [0, 1, 2]),  # flips without a swap: not the same as no flip_idx (no flips)
])
def test_flip_idx_of_data_yaml_is_kept_through_import_and_export(tmp_path, kpt_names, flip):
    # was: the import dropped flip_idx, and the export wrote none (the names pair no side), so
    # Ultralytics trained the exported folder without left-right flips
    src = _pose(tmp_path / "y", kpt_names + f"flip_idx: {flip}\n")
    t = read_train(src, "yolo", None, True)
    r = render_train("yolo", _tables(t), t.config_text)
    doc = yaml.safe_load(r.files["data.yaml"])
    assert doc["flip_idx"] == flip and doc["kpt_shape"] == [3, 3]
    assert not any("flip_idx" in n for n in r.notes), r.notes
    assert r.files["labels/a.txt"].decode() == POSE
    kp = LabelingConfig(t.config_text, validate=False).label_attributes("flip", ("KeyPointLabels",))
    names = doc["kpt_names"]
    assert kp == {names[i]: names[j] for i, j in enumerate(flip)}


def test_flip_idx_is_in_the_versions_config_and_its_export(empty_repo, tmp_path):
    src = _pose(tmp_path / "y", "kpt_names: [eye_1, eye_2, mouth]\nflip_idx: [1, 0, 2]\n")
    p = _cli("snapshot", "--from", str(src), "-m", "pose", cwd=empty_repo)
    assert p.returncode == 0, p.stderr
    assert '<Label value="eye_1" flip="eye_2"/>' in annover.Repo(empty_repo).config_text("HEAD")
    out = tmp_path / "out"
    p = _cli("export", "HEAD", "--format", "yolo", "--out", str(out), cwd=empty_repo)
    assert p.returncode == 0, p.stderr
    assert yaml.safe_load((out / "data.yaml").read_text())["flip_idx"] == [1, 0, 2]
    assert "no flip_idx" not in p.stderr


@pytest.mark.parametrize("keep", [False, True])
def test_a_given_config_without_the_folders_flips_is_warned(empty_repo, tmp_path, keep):
    # was: with --config, the user's config replaced the generated one and the folder's flip_idx
    # was lost without a word (the export then wrote none, or paired the names by side)
    src = _pose(tmp_path / "y", "kpt_names: [eye_1, eye_2, mouth]\nflip_idx: [1, 0, 2]\n")
    generated = read_train(src, "yolo", None, True).config_text
    cfg = tmp_path / "pose.xml"
    cfg.write_text(generated if keep else re.sub(r' flip="[^"]*"', "", generated))
    p = _cli("snapshot", "--from", str(src), "--config", str(cfg), "-m", "pose", cwd=empty_repo)
    assert p.returncode == 0, p.stderr
    said = "flip_idx pairs keypoints the labeling config does not"
    if keep:
        assert said not in p.stderr
    else:
        assert said in p.stderr and 'eye_1 flip="eye_2"' in p.stderr, p.stderr


def test_a_config_flip_naming_no_keypoint_is_refused_on_export(tmp_path):
    src = _pose(tmp_path / "y", "flip_idx: [1, 0, 2]\n")
    t = read_train(src, "yolo", None, True)
    text = t.config_text.replace('flip="kp_0"', 'flip="nose"')
    with pytest.raises(annover.errors.UsageError, match="gives the keypoint 'kp_1' the flip 'nose'"):
        render_train("yolo", _tables(t), text)


def test_a_config_flip_naming_no_keypoint_is_refused_when_given(empty_repo, tmp_path):
    # was: accepted at snapshot, and refused only at the YOLO export (exit 2), far from the file
    src = _pose(tmp_path / "y", "flip_idx: [1, 0, 2]\n")
    cfg = tmp_path / "pose.xml"
    cfg.write_text(read_train(src, "yolo", None, True).config_text.replace('flip="kp_0"', 'flip="nose"'))
    versions = empty_repo / ".annover" / "versions"
    before = sorted(versions.iterdir()) if versions.exists() else []
    p = _cli("snapshot", "--from", str(src), "--config", str(cfg), "-m", "pose", cwd=empty_repo)
    assert p.returncode == 5, p.stderr
    err = p.stderr.strip().splitlines()[-1]
    assert err.startswith(f"Error: {cfg}: keypoint label 'kp_1' of <KeyPointLabels name='keypoints'> has "
                          "flip='nose', which is no label of that control"), err
    assert "Traceback" not in p.stderr
    assert (sorted(versions.iterdir()) if versions.exists() else []) == before
    ok = LabelingConfig(read_train(src, "yolo", None, True).config_text)  # the generated one: its flips name labels
    assert ok.label_attributes("flip", ("KeyPointLabels",))["kp_1"] == "kp_0"


@pytest.mark.parametrize("flip", ["[1, 0]", "[1, 0, 3]", "[0, 1, x]", "{0: 1}"])
def test_a_flip_idx_ultralytics_cannot_use_is_refused(empty_repo, tmp_path, flip):
    # Ultralytics' augmentation raises on a flip_idx of another length than kpt_shape[0]; an index
    # out of range fails at the first flip
    src = _pose(tmp_path / "y", f"flip_idx: {flip}\n")
    _refused(empty_repo, src, f"{src / 'data.yaml'}: flip_idx is ", "not 3 keypoint indexes")


def test_an_empty_flip_idx_is_none(tmp_path):
    src = _pose(tmp_path / "y", "flip_idx: []\n")
    t = read_train(src, "yolo", None, True)
    assert "flip=" not in t.config_text


# ---------------------------------------------------------------------------
# lines Ultralytics accepts


def test_duplicate_lines_are_dropped_with_a_warning_as_ultralytics_drops_them(empty_repo, tmp_path):
    # was: both lines became two equal boxes (and two pose boxes of one region id)
    src = _folder(tmp_path / "y", {"classes.txt": "cat\ndog\n",
                                   "labels/a.txt": "0 0.5 0.5 0.2 0.2\n1 0.5 0.5 0.2 0.2\n0 0.50 0.5 0.2 0.20\n",
                                   "labels/b.txt": "0 0.1 0.1 0.3 0.1 0.3 0.3\n0 0.1 0.1 0.3 0.1 0.3 0.3\n"})
    t = yolo.read(src)
    assert sorted(len(r) for r in _results(t)) == [1, 2]
    said = [w for w in t.warnings if "duplicate label line" in w]
    assert len(said) == 1 and said[0].startswith("2 duplicate label line(s)"), t.warnings
    assert f"{src / 'labels' / 'a.txt'}: line 3" in said[0]
    p = _cli("snapshot", "--from", str(src), "-m", "dups", cwd=empty_repo)
    assert p.returncode == 0 and "2 duplicate label line(s)" in p.stderr, p.stderr


def test_a_pose_folder_with_a_duplicate_line_is_read(tmp_path):
    src = _pose(tmp_path / "y", "")
    (src / "labels" / "a.txt").write_text(POSE + POSE)
    t = yolo.read(src)
    assert [len(r) for r in _results(t)] == [4]  # a box and its three keypoints, once


@pytest.mark.parametrize("cls", ["1.0", "1.", "1e0", "1.000"])
def test_a_class_id_written_as_a_float_is_read(tmp_path, cls):
    # was: "class '1.0' is not an integer"; Ultralytics reads every value of a line as a float
    src = _folder(tmp_path / "y", {"classes.txt": "cat\ndog\n", "labels/a.txt": f"{cls} 0.5 0.5 0.2 0.2\n"})
    t = yolo.read(src)
    assert _results(t)[0][0]["value"]["rectanglelabels"] == ["dog"]


def test_a_class_id_that_is_no_whole_number_is_refused(empty_repo, tmp_path):
    src = _folder(tmp_path / "y", {"classes.txt": "cat\ndog\n", "labels/a.txt": "1.5 0.5 0.5 0.2 0.2\n"})
    _refused(empty_repo, src, f"{src / 'labels' / 'a.txt'}: line 1: class '1.5' is not an integer")


@pytest.mark.parametrize("line", ["0 1.005 0.5 0.2 0.2", "0 0.5 -0.01 0.2 0.2", "0 0.5 0.5 1.01 0.2",
                                  "0 -0.004 0.1 0.3 0.1 0.3 0.3"])
def test_a_value_within_ultralytics_one_percent_tolerance_is_read_as_written(tmp_path, line):
    # was: refused as "outside 0..1"; Ultralytics' label check allows 1.01 and -0.01 ("1% tolerance")
    src = _folder(tmp_path / "y", {"classes.txt": "cat\n", "labels/a.txt": line + "\n",
                                   "sizes.json": json.dumps({"images/a.jpg": {"width": 200, "height": 100}})})
    t = read_train(src, "yolo", None, True)
    assert len(_results(yolo.read(src))[0]) == 1
    r = render_train("yolo", _tables(t), t.config_text)  # a box clipped to the image, a polygon as it is
    nums = [float(x) for x in r.files["labels/a.txt"].decode().split()[1:]]
    assert nums == [float(x) for x in line.split()[1:]] if len(nums) > 4 else all(0 <= x <= 1 for x in nums), nums


@pytest.mark.parametrize("line, says", [
    ("0 1.0100001 0.5 0.2 0.2", "cx is 1.0100001, outside 0..1 by more than 0.01"),
    ("0 0.5 -0.0100001 0.2 0.2", "cy is -0.0100001, outside 0..1 by more than 0.01"),
])
def test_a_value_beyond_the_tolerance_is_refused(empty_repo, tmp_path, line, says):
    src = _folder(tmp_path / "y", {"classes.txt": "cat\n", "labels/a.txt": line + "\n"})
    _refused(empty_repo, src, f"{src / 'labels' / 'a.txt'}: line 1: {says}", "Ultralytics refuses the line")


def test_boxes_beside_polygons_are_read_and_the_difference_from_ultralytics_said(tmp_path):
    src = _folder(tmp_path / "y", {"classes.txt": "cat\ndog\n",
                                   "labels/mixed.txt": "0 0.5 0.5 0.2 0.2\n1 0.1 0.1 0.3 0.1 0.3 0.3\n",
                                   "labels/boxes.txt": "0 0.5 0.5 0.2 0.2\n"})
    t = yolo.read(src)
    kinds = sorted(r["type"] for res in _results(t) for r in res)
    assert kinds == ["polygonlabels", "rectanglelabels", "rectanglelabels"]
    mixed = [w for w in t.warnings if "mix box lines with polygon lines" in w]
    across = [w for w in t.warnings if "hold boxes only" in w]
    assert len(mixed) == 1 and "mixed.txt" in mixed[0] and "2 points" in mixed[0], t.warnings
    assert len(across) == 1 and "boxes.txt" in across[0] and "drops every polygon" in across[0], t.warnings


def test_detect_or_segment_only_folders_get_no_mixing_warning(tmp_path):
    for lines in ("0 0.5 0.5 0.2 0.2\n", "0 0.1 0.1 0.3 0.1 0.3 0.3\n"):
        src = _folder(tmp_path / str(len(lines)), {"classes.txt": "cat\n", "labels/a.txt": lines, "labels/b.txt": lines})
        assert not [w for w in yolo.read(src).warnings if "polygon" in w]


# ---------------------------------------------------------------------------
# data.yaml as check_det_dataset reads it


def test_nc_without_names_gives_ultralytics_class_names(tmp_path):
    # was: "no 'names'"; check_det_dataset names nc classes class_0, class_1, ...
    src = _folder(tmp_path / "y", {"data.yaml": "nc: 3\ntrain: images\nval: images\n",
                                   "labels/a.txt": "2 0.5 0.5 0.2 0.2\n"})
    t = yolo.read(src)
    assert _results(t)[0][0]["value"]["rectanglelabels"] == ["class_2"]
    assert LabelingConfig(t.config, validate=False).controls["label"].labels == ("class_0", "class_1", "class_2")


@pytest.mark.parametrize("text, says", [
    ("nc: 3\nnames: [a, b]\n", "names has 2 classes and nc says 3"),
    ("nc: 2.5\nnames: [a, b]\n", "nc is 2.5, not a count of classes"),
    ("nc: 0\n", "nc is 0, not a count of classes"),
])
def test_nc_ultralytics_refuses_is_refused(empty_repo, tmp_path, text, says):
    src = _folder(tmp_path / "y", {"data.yaml": text, "labels/a.txt": "0 0.5 0.5 0.2 0.2\n"})
    _refused(empty_repo, src, f"{src / 'data.yaml'}: {says}")


def test_splits_as_ultralytics_resolves_them(tmp_path):
    """``path`` inside the folder, ``train`` as a list, a list file with ``./`` lines, nested image
    folders, labels found by the last ``/images/`` -> ``/labels/``: every line read, each in its split."""
    src = _folder(tmp_path / "y", {
        "data.yaml": "path: ds\ntrain: [images/a, images/b]\nval: val.txt\ntest: images/t\nnames: [cat]\n",
        "ds/labels/a/x/1.txt": "0 0.5 0.5 0.2 0.2 \n", "ds/labels/b/2.txt": "0 0.5 0.5 0.2 0.2\r\n",
        "ds/val.txt": "./images/v/3.jpg\n", "ds/labels/v/3.txt": "0 0.5 0.5 0.2 0.2\n",
        "ds/labels/t/images/4.txt": "0 0.5 0.5 0.2 0.2\n",
        "sizes.json": json.dumps({"ds/images/v/3.jpg": {"width": 20, "height": 20}})})
    t = yolo.read(src)
    assert {task["id"]: (task["data"]["image"], task["data"].get("split")) for task in t.tasks} == {
        "1": ("ds/images/a/x/1", "train"), "2": ("ds/images/b/2", "train"), "3": ("ds/images/v/3.jpg", "val"),
        "4": ("ds/images/t/images/4", "test")}
    assert [len(r) for r in _results(t)] == [1, 1, 1, 1]


# ---------------------------------------------------------------------------
# the shared corpus: read as before, nothing dropped, nothing said


@needs_corpus
@pytest.mark.parametrize("name, regions", [("yolo_detect_lssdk", 25), ("yolo_segment_datumaro", 2),
                                           ("yolo_obb_datumaro", 2), ("yolo_pose_datumaro", 4)])
def test_the_corpus_yolo_samples_read_whole(name, regions):
    t = yolo.read(CORPUS / name, obb="obb" in name)
    assert sum(len(r) for r in _results(t)) == regions
    assert not [w for w in t.warnings if "duplicate" in w or "polygon" in w], t.warnings
    assert "flip=" not in t.config  # the pose sample has no flip_idx
