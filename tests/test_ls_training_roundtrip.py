"""A detection user's round trip through the real Label Studio: a COCO version pushed with its
answers, one box fixed in Label Studio, the project pulled back. The images load (local-files
URLs of the folder the COCO file was read from), and the diff shows the fix alone: the answers the
push gave to the API key's user are read back as the version's answers of no annotator, and the
URLs as the version's paths. An answer a person makes stays theirs."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

import annover
from annover.labelstudio import roundtrip
from annover.labelstudio.datasets import RECORD_DIR

from .conftest import shared_corpus
from .ls_fixtures import annotator2, cli, data_dir, ls, ls_server, png_bytes, sdk_admin  # noqa: F401 - fixtures

pytestmark = pytest.mark.labelstudio


def _coco(folder, n: int = 3) -> None:
    """A COCO file of ``n`` images (one box each) beside its ``images/`` folder."""
    (folder / "images").mkdir(parents=True)
    images, boxes = [], []
    for i in range(n):
        (folder / "images" / f"img_{i}.png").write_bytes(png_bytes((40 * i, 10, 10)))
        images.append({"id": i + 1, "file_name": f"images/img_{i}.png", "width": 100, "height": 80})
        boxes.append({"id": i + 1, "image_id": i + 1, "category_id": 1, "bbox": [10, 10, 20 + i, 30],
                      "area": 600, "iscrowd": 0})
    cats = [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]
    (folder / "ann.json").write_text(json.dumps({"images": images, "annotations": boxes, "categories": cats}))


def test_a_coco_version_round_trip_shows_only_the_edits(ls, sdk_admin, annotator2, data_dir,  # noqa: F811
                                                        monkeypatch):
    repo = annover.init(data_dir / "repo")
    _coco(data_dir / "repo" / "coco")
    monkeypatch.chdir(repo.root)
    v1 = repo.snapshot("coco/ann.json", message="from coco", tag="v1").version
    title = f"t-{uuid.uuid4().hex[:8]}-coco-trip"
    assert cli("dataset", "create", title, "--config", "v1")[0] == 0
    pid = repo.datasets_on(ls).get(title).id
    try:
        code, _, err = cli("dataset", "push", title, "--from", "v1", "--annotations")
        assert code == 0 and "cannot load" not in err, err
        tasks = {t.data["image"].rsplit("/", 1)[1]: t for t in sdk_admin.tasks.list(project=pid)}
        assert all(t.data["image"].startswith("/data/local-files/?d=") for t in tasks.values()), tasks
        served = ls.status_of("data/local-files/", params={"d": tasks["img_1.png"].data["image"].split("?d=")[1]},
                              what="reading an image")
        assert served == 200
        record = json.loads((repo.dir / RECORD_DIR / f"{title}.json").read_text())
        assert sum(last - first + 1 for first, last in record["unattributed"]) == 3, record
        # a person fixes one box (the answer the push made) and adds an answer of their own
        fixed = tasks["img_1.png"].annotations[0]
        result = fixed["result"]
        result[0]["value"]["width"] += 5
        sdk_admin.annotations.update(id=fixed["id"], result=result)
        client, email, on_behalf = annotator2
        mine = {"completed_by": on_behalf} if on_behalf else {}
        client.annotations.create(id=tasks["img_2.png"].id, result=result, **mine)
        code, _, err = cli("snapshot", "--label-studio", title, "-m", "fixed in Label Studio")
        assert code == 0, err
    finally:
        sdk_admin.projects.delete(id=pid)
    d = annover.Repo(repo.root).diff(v1.id, "HEAD").summary
    assert d["tasks"]["data_changed"] == 0, d["tasks"]
    assert (d["annotations"]["added"], d["annotations"]["removed"], d["annotations"]["changed"]) == (1, 0, 1), d
    anns = annover.Repo(repo.root).load("HEAD", "annotations").to_pylist()
    assert sorted(str(a["annotator"]) for a in anns) == sorted(["None"] * 3 + [email])


def test_relative_image_paths_that_cannot_be_served_are_said_in_one_warning(ls, sdk_admin, repo):  # noqa: F811
    """A version read from a COCO file outside the repository: the folder its paths are relative to
    is not known; a dry run says so once, with the ways to serve them."""
    v = repo.snapshot(str(shared_corpus("formats") / "coco_chess_roboflow.json"), message="chess").version
    title = f"t-{uuid.uuid4().hex[:8]}-chess"
    assert cli("dataset", "create", title, "--config", v.id)[0] == 0
    try:
        code, _, err = cli("dataset", "push", title, "--from", v.id, "--dry-run")
        code2, _, err2 = cli("dataset", "push", title, "--from", v.id, "--dry-run", "--image-root", str(repo.root))
    finally:
        sdk_admin.projects.delete(id=repo.datasets_on(ls).get(title).id)
    lines = [x for x in err.splitlines() if "cannot load" in x]
    assert code == 0 and len(lines) == 1 and "--image-root" in lines[0] and "cloud storage" in lines[0], err
    assert "29 image path(s)" in lines[0]
    assert code2 == 0 and "is not in --image-root" in err2, err2


@given(st.sets(st.integers(1, 200)), st.sets(st.integers(1, 200)))
def test_the_records_answer_ids_are_runs_that_read_back_as_the_ids(had, pushed):
    """A push of 50,000 answers wrote a JSON line per id into the committed record; they are runs now."""
    merged = roundtrip.merged(roundtrip.merged(None, (), had), (), pushed)
    runs = merged.get(roundtrip.UNATTRIBUTED, [])
    assert sorted(roundtrip.of_record(merged)[roundtrip.UNATTRIBUTED]) == sorted(had | pushed)
    assert all(a <= b for a, b in runs) and all(b + 1 < c for (_, b), (c, _) in zip(runs, runs[1:])), runs
