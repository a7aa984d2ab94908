"""`annover export --format yolo|voc --images DIR`: the folder written holds the images beside
their labels, as a trainer reads it; checked with supervision, which reads YOLO and VOC datasets
(images and labels together), on the shared corpus's BCCD Pascal VOC files (images made here at
the sizes the XML gives: the corpus holds only the annotations).

Was: the YOLO and VOC folders held labels only (`train: images` named a folder that did not
exist); a user had to put every image where the label files expected it, by hand."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
import supervision as sv
from PIL import Image

import annover

from tests.conftest import ROOT, shared_corpus
from tests.test_cli import invoke

from .ls_fixtures import cli, ls, ls_server, project_factory, sdk_admin  # noqa: F401 - fixtures

BCCD = shared_corpus("formats") / "voc_bccd"


def _boxes_per_image() -> dict[str, int]:
    out = {}
    for f in sorted((BCCD / "Annotations").glob("*.xml")):
        text = f.read_text(encoding="utf-8")
        out[re.search(r"<filename>([^<]+)</filename>", text).group(1)] = text.count("<object>")
    return out


def _images(folder: Path, nested: bool = True) -> dict[str, Path]:
    """A JPEG for each BCCD file name, at the XML's size; half of them one folder down (the tasks
    name the file only: found by its name anywhere below)."""
    made = {}
    for i, f in enumerate(sorted((BCCD / "Annotations").glob("*.xml"))):
        text = f.read_text(encoding="utf-8")
        name = re.search(r"<filename>([^<]+)</filename>", text).group(1)
        w, h = (int(re.search(rf"<{k}>(\d+)</{k}>", text).group(1)) for k in ("width", "height"))
        p = folder / ("sub" if nested and i % 2 else "") / name
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (w, h), (i * 9 % 256, 80, 160)).save(p, "JPEG")
        made[name] = p
    return made


@pytest.fixture
def bccd(repo):
    code, _, err = invoke("snapshot", "--from", str(BCCD), "-m", "bccd", "-q")
    assert code == 0, err
    return repo


def test_yolo_export_with_images_is_read_by_supervision_box_for_box(bccd, tmp_path):
    made = _images(tmp_path / "data")
    out = tmp_path / "yolo"
    code, stdout, err = invoke("export", "v1", "--format", "yolo", "-o", str(out), "--images", str(tmp_path / "data"),
                               "--json")
    assert code == 0, err
    doc = json.loads(stdout)
    assert doc["images"] == {"images": len(made), "checked": 0, "linked": len(made), "copied": 0, "size_mismatches": []}
    ds = sv.DetectionDataset.from_yolo(images_directory_path=str(out / "images"),
                                       annotations_directory_path=str(out / "labels"),
                                       data_yaml_path=str(out / "data.yaml"))
    want = _boxes_per_image()
    assert len(ds) == len(want) == 25
    got = {Path(path).name: len(det) for path, _, det in ds}
    assert got == want
    for name, src in made.items():  # hard links: the same file, no space used
        assert os.stat(out / "images" / name).st_ino == os.stat(src).st_ino


def test_voc_export_with_images_is_read_by_supervision(bccd, tmp_path):
    _images(tmp_path / "data", nested=False)
    out = tmp_path / "voc"
    code, _, err = invoke("export", "v1", "--format", "voc", "-o", str(out), "--images", str(tmp_path / "data"))
    assert code == 0, err
    assert "25 image(s) put beside their labels: 25 hard-linked, 25 not checked" in err
    ds = sv.DetectionDataset.from_pascal_voc(images_directory_path=str(out / "JPEGImages"),
                                             annotations_directory_path=str(out / "Annotations"))
    assert {Path(p).name: len(d) for p, _, d in ds} == _boxes_per_image()


def test_images_linked_as_source_data_are_checked_against_what_was_labeled(repo, tmp_path):
    made = _images(repo.root / "data")  # half one folder down: the tasks name the file only
    code, _, err = invoke("snapshot", "--from", str(BCCD), "--source", "data", "-m", "bccd", "-q")
    assert code == 0, err
    out = tmp_path / "yolo"
    code, stdout, err = invoke("export", "--format", "yolo", "-o", str(out), "--images", "data", "--json")
    assert code == 0, err
    assert json.loads(stdout)["images"]["checked"] == 25
    # an image changed since the version was made: refused, naming it; nothing written
    changed = made["BloodImage_00003.jpg"]
    Image.new("RGB", (640, 480), (1, 2, 3)).save(changed, "JPEG")
    again = tmp_path / "yolo-2"
    code, stdout, err = invoke("export", "--format", "yolo", "-o", str(again), "--images", "data")
    assert code == 3 and stdout == ""
    assert f"{changed.relative_to(repo.root)}: not the image task" in err and "git checkout" in err and len(err.strip().splitlines()) == 1
    assert not again.exists() and not list(tmp_path.glob(".yolo-2*"))


def test_bad_images_arguments_write_nothing(bccd, tmp_path):
    made = _images(tmp_path / "data")
    out = tmp_path / "o"
    code, _, err = invoke("export", "--format", "conll", "-o", str(out), "--images", str(tmp_path / "data"))
    assert code == 2 and "--images is for the formats" in err  # COCO and HF take it: test_export_images_coco
    code, _, err = invoke("export", "--format", "yolo", "-o", str(out), "--images", str(tmp_path / "nope"))
    assert code == 14 and "no such folder" in err
    made["BloodImage_00010.jpg"].unlink()
    made["BloodImage_00011.jpg"].unlink()
    code, _, err = invoke("export", "--format", "voc", "-o", str(out), "--images", str(tmp_path / "data"))
    assert code == 14 and "'BloodImage_00010.jpg' is in no file below it (and 1 more)" in err
    assert not out.exists()


def _other_file_system(than: Path) -> Path | None:
    """A folder on a file system other than ``than``'s: memory (/dev/shm) where the tests' folders are on
    disk, the checkout (disk) where CI puts them in memory."""
    for base in (Path("/dev/shm"), ROOT):
        if base.is_dir() and os.access(base, os.W_OK) and os.stat(base).st_dev != os.stat(than).st_dev:
            return Path(tempfile.mkdtemp(prefix=".annover-test-images-", dir=base))
    return None


def test_images_on_another_file_system_are_copied(bccd, tmp_path):
    data = _other_file_system(tmp_path)
    if data is None:
        pytest.skip("no second file system to copy from")
    try:
        made = _images(data)
        res = annover.Repo(bccd.root).export("v1", "voc", tmp_path / "voc", images=data)
        assert res.images == {"images": 25, "checked": 0, "linked": 0, "copied": 25, "size_mismatches": []}
        for name, src in made.items():
            assert (tmp_path / "voc" / "JPEGImages" / name).read_bytes() == src.read_bytes()
    finally:
        shutil.rmtree(data, ignore_errors=True)


IMAGE_CONFIG = ('<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image">'
                '<Label value="WBC"/><Label value="RBC"/></RectangleLabels></View>')


@pytest.mark.labelstudio
def test_images_uploaded_to_label_studio_are_found_in_the_folder_they_came_from(repo, tmp_path, ls_server,  # noqa: F811
                                                                                 sdk_admin, project_factory):  # noqa: F811
    """Label Studio stores an uploaded file as /data/upload/<project>/<8 hex>-<name>: a task names
    that, not the file the person uploaded. `--images DIR` finds `name` in DIR all the same, and
    `snapshot --source DIR` links it (its sha256 checked at export). Before: "in no file below it"."""
    import httpx

    made = _images(repo.root / "data", nested=False)
    names = sorted(made)[:3]
    p = project_factory("uploads", IMAGE_CONFIG)
    with httpx.Client(base_url=ls_server.url, headers={"Authorization": f"Token {ls_server.api_key}"},
                      timeout=120) as http:
        r = http.post(f"/api/projects/{p.id}/import", files=[(n, (n, made[n].read_bytes(), "image/jpeg"))
                                                               for n in names])
        r.raise_for_status()
        tasks = http.get("/api/tasks", params={"project": p.id, "page_size": 100}).json()["tasks"]
        assert sorted(t["data"]["image"].rsplit("-", 1)[-1] for t in tasks) == names
        assert all(t["data"]["image"].startswith(f"/data/upload/{p.id}/") for t in tasks)
        for t in tasks:  # one box each, as a person draws it
            http.post(f"/api/tasks/{t['id']}/annotations/", json={"result": [{
                "from_name": "label", "to_name": "image", "type": "rectanglelabels", "original_width": 640,
                "original_height": 480, "value": {"x": 10, "y": 10, "width": 20, "height": 20, "rotation": 0,
                                                  "rectanglelabels": ["WBC"]}}]}).raise_for_status()
    code, _, err = cli("snapshot", "--label-studio", p.title, "--source", "data", "-m", "uploads", "-q")
    assert code == 0, err
    out = tmp_path / "yolo"
    code, stdout, err = cli("export", "--format", "yolo", "-o", str(out), "--images", "data", "--json")
    assert code == 0, err
    assert json.loads(stdout)["images"] == {"images": 3, "checked": 3, "linked": 3, "copied": 0, "size_mismatches": []}
    for t in tasks:  # each upload's name in the export, the file it came from behind it
        placed = out / "images" / t["data"]["image"].rsplit("/", 1)[-1]
        assert os.path.samefile(placed, made[placed.name.split("-", 1)[1]])
        assert (out / "labels" / (placed.stem + ".txt")).read_text().count("\n") == 1
