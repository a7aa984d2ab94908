"""Hostile and careless input to what landed on Dec 5 (COCO/HF export --images, YOLO nc and
flip_idx, tag --prune asking git remotes): each is a one-line error with the documented exit code,
or is read safely; nothing runs that the user did not ask for. Real git, real files."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

import annover

from tests.test_yolo_ultralytics import _folder, _tree, empty_repo  # noqa: F401 (a fixture)

#: the address space a command run here may take: a bug that asks for terabytes fails fast, not the machine
_MEMORY = 3 * 2**30


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (_MEMORY, _MEMORY))


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run([sys.executable, "-m", "annover", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=120, preexec_fn=_capped)


def _refused(root: Path, code: int, args: list[str], *says: str) -> None:
    """``annover ARGS`` in ``root`` is exit ``code``, one line naming what is wrong, no traceback, nothing written."""
    before = _tree(root)
    p = _cli(*args, cwd=root)
    assert p.returncode == code, p.stderr
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr and p.stderr.startswith("Error: "), p.stderr
    for s in says:
        assert s in p.stderr, p.stderr
    assert _tree(root) == before


# ---------------------------------------------------------------------------
# YOLO data.yaml: nc without names


def test_a_huge_nc_without_names_is_refused_not_a_memory_error(empty_repo, tmp_path):  # noqa: F811
    # was: `nc: 1000000000000` made a list of 10**12 class names: MemoryError (exit 1) or the
    # machine's memory exhausted; the 24 bytes of data.yaml asked for terabytes
    src = _folder(tmp_path / "y", {"data.yaml": "nc: 1000000000000\n", "labels/a.txt": "0 0.5 0.5 0.2 0.2\n"})
    _refused(empty_repo, 3, ["snapshot", "--from", str(src), "--format", "yolo", "-m", "bad"],
             f"{src / 'data.yaml'}: nc is 1000000000000", "write names")


# ---------------------------------------------------------------------------
# tag --prune asks the git remotes: a remote's name is no option of git's


def test_a_remote_named_like_an_option_runs_nothing(tmp_path, monkeypatch):
    """`git remote add -- --upload-pack=PROG URL` is a remote git accepts. Was: prune (even -n) ran
    `git ls-remote --tags --upload-pack=PROG`, so PROG ran; now the name is the repository argument
    (after `--`), and the remote is asked as any other."""
    from tests.test_team_index import _stray

    lab, v2 = _stray(tmp_path, monkeypatch)
    ran = tmp_path / "ran"
    prog = tmp_path / "prog.sh"
    prog.write_text(f"#!/bin/sh\ntouch {ran}\nexit 1\n")
    prog.chmod(0o755)
    name = f"--upload-pack={prog}"
    lab.git("remote", "rename", "--", "origin", name)
    assert lab.git("remote").split() == [name]
    p = _cli("tag", "--prune", "-n", "--json", cwd=lab.root)
    assert p.returncode == 0, p.stderr
    assert not ran.exists()
    out = json.loads(p.stdout)
    assert out["unasked"] == [] and [(t["tag"], t["remote"]) for t in out["kept"]] == [("v2", name), ("best", name)]


def test_a_remote_url_password_is_not_shown_when_it_cannot_be_asked(tmp_path, monkeypatch):
    """A git remote whose URL holds USER:PASSWORD@ and does not answer: the warning names the remote,
    not the password (a guard: git's own message leaves the password out)."""
    from tests.test_team_index import _stray

    lab, _ = _stray(tmp_path, monkeypatch)
    lab.git("remote", "set-url", "origin", "https://alice:s3cr3t-pw@127.0.0.1:9/repo.git")
    p = _cli("tag", "--prune", "-n", cwd=lab.root)
    assert p.returncode == 0, p.stderr
    assert "could not ask git remote origin" in p.stderr and "s3cr3t" not in p.stderr + p.stdout, p.stderr


# ---------------------------------------------------------------------------
# export --images: the places of two images in the folder


_CONFIG = ('<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image">'
           '<Label value="A"/></RectangleLabels></View>')


def _box_task(i: int, image: str) -> dict:
    return {"id": i, "data": {"image": image}, "annotations": [{"result": [{
        "type": "rectanglelabels", "from_name": "label", "to_name": "image", "original_width": 10,
        "original_height": 10, "value": {"x": 10, "y": 10, "width": 20, "height": 20, "rectanglelabels": ["A"]}}]}]}


def test_coco_images_one_a_folder_of_the_other_is_refused_naming_them(empty_repo, tmp_path):  # noqa: F811
    """Task images `x.jpg` and `x.jpg/y.jpg` (both found below --images) would be the file
    images/x.jpg and a file in a folder images/x.jpg/. Was: exit 2 "cannot write --out OUT: File
    exists — give --out a path in a folder you can write to", which blames --out; now exit 2 naming
    the two tasks and their places, before anything is written."""
    from PIL import Image

    data = tmp_path / "data"
    data.mkdir()
    for i, n in enumerate(("x.jpg", "y.jpg")):
        Image.new("RGB", (10, 10), (i * 90, 0, 0)).save(data / n)
    (tmp_path / "t.json").write_text(json.dumps([_box_task(1, "x.jpg"), _box_task(2, "x.jpg/y.jpg")]))
    (tmp_path / "c.xml").write_text(_CONFIG)
    p = _cli("snapshot", "--from", str(tmp_path / "t.json"), "--config", str(tmp_path / "c.xml"), "-m", "t", "-q",
             cwd=empty_repo)
    assert p.returncode == 0, p.stderr
    out = tmp_path / "out"
    _refused(empty_repo, 2, ["export", "v1", "--format", "coco", "-o", str(out), "--images", str(data)],
             "its image would be images/x.jpg/y.jpg, inside images/x.jpg, which is a file")
    assert sorted(os.listdir(tmp_path)) == ["c.xml", "data", "remotes", "repo", "t.json"]


def test_a_huge_kpt_shape_is_refused_not_a_memory_error(empty_repo, tmp_path):  # noqa: F811
    # was: `kpt_shape: [1000000000000, 3]` beside a label file of no line (a background image) named
    # 10**12 keypoints kp_0, kp_1, ... (for the config, and flip_idx's labels): MemoryError, exit 1
    src = _folder(tmp_path / "y", {"data.yaml": "names: [person]\nkpt_shape: [1000000000000, 3]\n",
                                   "labels/a.txt": "", "sizes.json": '{"images/a.jpg": {"width": 10, "height": 10}}'})
    _refused(empty_repo, 3, ["snapshot", "--from", str(src), "--format", "yolo", "-m", "bad"],
             f"{src / 'data.yaml'}: kpt_shape is [1000000000000, 3]")


# ---------------------------------------------------------------------------
# .annover/users.json (the notebook's who-is-who, snapshot, show): a damaged one is one line


def test_a_users_json_nested_too_deep_is_damaged_not_a_recursion_error(empty_repo, tmp_path):  # noqa: F811
    # was: `[[[[...]]]]` 200,000 deep (a merge or a collaborator's commit can bring any text) made
    # json.loads raise RecursionError, which Users.load let through: exit 1 "unexpected RecursionError"
    (tmp_path / "t.json").write_text(json.dumps([_box_task(1, "a.jpg")]))
    (tmp_path / "c.xml").write_text(_CONFIG)
    (empty_repo / ".annover" / "users.json").write_text("[" * 200_000 + "]" * 200_000)
    _refused(empty_repo, 2, ["snapshot", "--from", str(tmp_path / "t.json"), "--config", str(tmp_path / "c.xml"),
                             "-m", "t"], "users.json is damaged", "git checkout HEAD -- .annover/users.json")


# ---------------------------------------------------------------------------
# VOC ImageSets/Main lists: one stem a line


def test_voc_lists_leave_out_an_image_whose_name_a_line_cannot_hold(empty_repo, tmp_path):  # noqa: F811
    """An image named `a<newline>b.jpg` (Annotations/a<newline>b.xml). Was: val.txt listed `a` and
    `b`, two images the folder does not have (torchvision's VOCDetection then opens Annotations/a.xml
    and fails), and the import read them back as a warning. Now: it is in no list, and a note says
    why; the lists name only files of the folder."""
    tasks = [_box_task(1, "a\nb.jpg"), _box_task(2, "c.jpg"), _box_task(3, " d .jpg")]
    for t, s in zip(tasks, ("val", "train", "val")):
        t["data"]["split"] = s
    (tmp_path / "t.json").write_text(json.dumps(tasks))
    (tmp_path / "c.xml").write_text(_CONFIG)
    p = _cli("snapshot", "--from", str(tmp_path / "t.json"), "--config", str(tmp_path / "c.xml"), "-m", "t", "-q",
             cwd=empty_repo)
    assert p.returncode == 0, p.stderr
    out = tmp_path / "voc"
    p = _cli("export", "v1", "--format", "voc", "-o", str(out), cwd=empty_repo)
    assert p.returncode == 0, p.stderr
    assert "2 image(s) whose name" in p.stderr and "'a\\nb'" in p.stderr, p.stderr
    lists = {f.name: f.read_text().splitlines() for f in (out / "ImageSets" / "Main").iterdir()}
    assert lists == {"train.txt": ["c"], "trainval.txt": ["c"]}
    assert all((out / "Annotations" / f"{s}.xml").is_file() for names in lists.values() for s in names)
