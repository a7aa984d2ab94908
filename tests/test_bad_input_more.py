"""Bad input that was let through, or waited on, before: a named pipe given to an option that reads
a whole file; control characters in a training format's image file names; a CoNLL file of O tags
only; boxes outside their image and image sizes that are nonsense. Each case runs the real
command line (a subprocess where a wait could hang) on real files in a real repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import annover
from annover.formats.training import read_train

from .conftest import EXAMPLES, pipe_of, shared_corpus
from .ls_fixtures import ls, ls_server, project_factory, sdk_admin  # noqa: F401  (fixtures)
from .test_malformed_inputs import v1_repo  # noqa: F401  (a fixture)

CONFIG = EXAMPLES / "labeling.xml"
CORPUS = shared_corpus("formats")
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus of training formats is not here")
READ_CACHE = ".git/annover-index-agrees"


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and str(p.relative_to(root)) != READ_CACHE and p.name != "lock"}


def _cli(*args: str, cwd: Path, fds: tuple[int, ...] = (), timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run([sys.executable, "-m", "annover", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=timeout, pass_fds=fds)


def _one_line(p: subprocess.CompletedProcess, code: int, *says: str) -> None:
    assert p.returncode == code, p.stderr
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr, p.stderr
    for s in says:
        assert s in p.stderr, p.stderr


@pytest.fixture(scope="module")
def v1(v1_repo):
    return v1_repo


# ---------------------------------------------------------------------------
# 1. a named pipe given to an option that reads a whole file


def _pipe_args(option: str, fifo: Path) -> list[str]:
    snap = ["snapshot", "--from", str(EXAMPLES / "round2.json"), "-m", "pipe", "--dry-run"]
    return {"--config": [*snap, "--config", str(fifo)],
            "--users": [*snap, "--users", str(fifo)],
            "--source": [*snap, "--source", str(fifo)],
            "--tasks-from": ["export", "v1", "--format", "csv", "--out", str(fifo.parent / "o.csv"),
                             "--tasks-from", str(fifo)],
            "FILE": ["config", "validate", str(fifo)],
            "--from": ["snapshot", "--from", str(fifo), "--format", "label-studio", "-m", "pipe"]}[option]


@pytest.mark.parametrize("option", ["--config", "--users", "--source", "--tasks-from", "FILE", "--from"])
def test_a_named_pipe_no_one_writes_is_refused_not_waited_on(v1, option):
    # was: --config, --tasks-from, config validate and --from with --format label-studio waited forever;
    # --users said "no such file" (exit 14); --source was taken for a folder of no files
    fifo = v1 / f"pipe-{option.strip('-').lower()}"  # inside the repository: --source must be
    os.mkfifo(fifo)
    try:
        before = _tree(v1)
        p = _cli(*_pipe_args(option, fifo), cwd=v1, timeout=60)
        _one_line(p, 3, f"{fifo}: is a named pipe, not a file ({option})", "write the")
        assert _tree(v1) == before
    finally:
        fifo.unlink()


@pytest.mark.parametrize("option", ["--from", "--predictions", "--from-sample"])
def test_dataset_push_says_a_named_pipe_is_one(v1, project_factory, option):
    # was: "no such file" (exit 14) for a pipe that is there
    project = project_factory("pipe")
    fifo = v1 / f"pipe-push-{option.strip('-')}"
    os.mkfifo(fifo)
    try:
        args = {"--from": ["--from", str(fifo)],
                "--predictions": ["--from", str(EXAMPLES / "round2.json"), "--predictions", str(fifo)],
                "--from-sample": ["--from-sample", str(fifo)]}[option]
        p = _cli("dataset", "push", str(project.id), *args, "--dry-run", cwd=v1)
        _one_line(p, 3, f"{fifo}: is a named pipe, not a file ({option})")
    finally:
        fifo.unlink()


def _through_a_pipe(data: bytes, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``annover ARGS`` with ``{fd}`` in ARGS replaced by a pipe a child writes ``data`` to, as a
    shell's ``<(command)`` is."""
    with pipe_of(data) as r:
        return _cli(*[a.replace("{fd}", f"/dev/fd/{r}") for a in args], cwd=cwd, fds=(r,), timeout=120)


def test_a_pipe_the_shell_opened_is_still_read_where_it_is_read_once(v1, tmp_path):
    # `--config <(...)`, `--tasks-from <(...)`, `config validate <(...)` were read, and still are;
    # `--users <(...)` said "no such file": it is read once too, so it is read now
    snap = ["snapshot", "--from", str(EXAMPLES / "round2.json"), "-m", "pipe", "--dry-run"]
    p = _through_a_pipe(CONFIG.read_bytes(), [*snap, "--config", "{fd}"], v1)
    assert p.returncode == 0 and "would record v2" in p.stderr, p.stderr
    p = _through_a_pipe(b'{"1": "one@example.com"}', [*snap, "--users", "{fd}"], v1)
    assert p.returncode == 0 and "would record v2" in p.stderr, p.stderr
    p = _through_a_pipe(CONFIG.read_bytes(), ["config", "validate", "{fd}"], v1)
    assert p.returncode == 0 and "valid" in p.stderr, p.stderr
    keys = json.loads((EXAMPLES / "round1.json").read_text())[0]["data"]["ext_id"].encode()
    out = tmp_path / "one.csv"
    p = _through_a_pipe(keys + b"\n", ["export", "v1", "--format", "csv", "--out", str(out), "--tasks-from", "{fd}"],
                        v1)
    assert p.returncode == 0, p.stderr
    assert len(out.read_text().splitlines()) >= 2


# ---------------------------------------------------------------------------
# 2. a control character in an image file name: refused where it is read, not at export


def _coco(path: Path, name: str, image_id: int = 7, **size) -> Path:
    im = {"id": image_id, "file_name": name, "width": 100, "height": 80, **size}
    path.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 80}, im],
                                "annotations": [{"id": 1, "image_id": image_id, "category_id": 1, "bbox": [1, 2, 3, 4],
                                                 "area": 12, "iscrowd": 0}],
                                "categories": [{"id": 1, "name": "cat"}]}))
    return path


def _voc(folder: Path, filename: str = "a.jpg", size: tuple[str, str] = ("100", "80"),
         box: tuple[str, ...] = ("1", "2", "30", "40")) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.xml").write_text(
        f"<annotation><filename>{filename}</filename><size><width>{size[0]}</width><height>{size[1]}</height>"
        "<depth>3</depth></size><object><name>cat</name><bndbox>"
        + "".join(f"<{k}>{v}</{k}>" for k, v in zip(("xmin", "ymin", "xmax", "ymax"), box))
        + "</bndbox></object></annotation>")
    return folder


def _yolo(folder: Path, lines: str = "0 0.5 0.5 0.2 0.2\n", label: str = "a.txt", sizes: dict | None = None) -> Path:
    (folder / "labels").mkdir(parents=True, exist_ok=True)
    (folder / "classes.txt").write_text("cat\n")
    (folder / "labels" / label).write_text(lines)
    if sizes is not None:
        (folder / "sizes.json").write_text(json.dumps(sizes))
    return folder


@pytest.fixture()
def empty_repo(tmp_path, monkeypatch):
    monkeypatch.setenv("ANNOVER_REMOTE_HOME", str(tmp_path / "remotes"))
    root = tmp_path / "repo"
    annover.init(root)
    return root


def _refused(root: Path, src: Path, *says: str, code: int = 3, args: tuple[str, ...] = ()) -> None:
    before = _tree(root)
    for dry in ([], ["--dry-run"]):
        p = _cli("snapshot", "--from", str(src), "-m", "bad", *args, *dry, cwd=root)
        _one_line(p, code, *says)
    assert _tree(root) == before


@pytest.mark.parametrize("name", ["b\x00c.jpg", "b\nc.jpg", "b\tc.jpg", "b\x7f.jpg"])
def test_a_coco_file_name_with_a_control_character_is_refused_at_snapshot(empty_repo, tmp_path, name):
    # was: recorded; `export --format yolo` refused the NUL only then (and COCO/JSON exports wrote it)
    src = _coco(tmp_path / "in.json", name)
    _refused(empty_repo, src, f"{src}: image 1 (id 7): file_name is {name!r}: a control character", "rename the image")


def test_a_voc_filename_with_a_control_character_is_refused(empty_repo, tmp_path):
    src = _voc(tmp_path / "voc", filename="a&#10;b.jpg")
    _refused(empty_repo, src, f"{src / 'a.xml'}: <filename> is 'a\\nb.jpg': a control character")


def test_yolo_image_names_with_a_control_character_are_refused(empty_repo, tmp_path):
    src = _yolo(tmp_path / "y1", label="a\tb.txt")
    _refused(empty_repo, src, "the image file name is 'images/a\\tb': a control character")
    src = _yolo(tmp_path / "y2", sizes={"images/a.jpg": {"width": 10, "height": 10},
                                        "images/b\x01.jpg": {"width": 10, "height": 10}})
    _refused(empty_repo, src, f"{src / 'sizes.json'}: an image name is 'images/b\\x01.jpg': a control character")


# ---------------------------------------------------------------------------
# 3. a CoNLL file whose every tag is O, without --config


@needs_corpus
def test_a_conll_file_of_no_entity_without_a_config_says_so(empty_repo, tmp_path):
    # was: exit 5 about a config the user never wrote ("the config generated for ...: Validation failed
    # on : 'View' is a required property")
    lines = (CORPUS / "conll_flair_fashion.conll").read_text().splitlines()
    src = tmp_path / "o.conll"
    src.write_text("\n".join(ln.rsplit(" ", 1)[0] + " O" if ln.strip() else ln for ln in lines) + "\n")
    for fmt in ((), ("--format", "conll")):
        _refused(empty_repo, src, f"{src}: every tag is O: no entity tag was found, so no labeling config can be "
                 "inferred", "give --config", args=fmt)
    # the reader reads it as text not labeled yet: every sentence a task, none answered
    read = read_train(src, "conll", None, True)
    n = sum(1 for block in src.read_text().split("\n\n") if block.strip())
    assert (read.tasks.num_rows, read.annotations.num_rows) == (n, 0)
    cfg = tmp_path / "ner.xml"
    p = _cli("config", "new", "ner", "--labels", "PER,ORG", cwd=empty_repo)
    cfg.write_text(p.stdout)
    p = _cli("snapshot", "--from", str(src), "--config", str(cfg), "-m", "no entity yet", cwd=empty_repo)
    assert p.returncode == 0, p.stderr
    assert f"{src}: no entity tag in any sentence: its {n} sentence(s) were recorded as tasks without answers " \
        "(not labeled yet)" in p.stderr, p.stderr
    stats = annover.Repo(empty_repo).show("HEAD").stats
    assert (stats["tasks"], stats["labeled"], stats["unlabeled"]) == (n, 0, n)


# ---------------------------------------------------------------------------
# 4. boxes outside the image, and image sizes that are nonsense


@pytest.mark.parametrize("line, says", [
    ("0 1.2 0.5 0.2 0.2", "line 1: cx is 1.2, outside 0..1"),
    ("0 1.0100001 0.5 0.2 0.2", "line 1: cx is 1.0100001, outside 0..1"),  # past the 1% tolerance, not shown as 1.01
    ("0 0.5 -0.0100001 0.2 0.2", "line 1: cy is -0.0100001, outside 0..1"),  # past the tolerance, not shown as -0.01
    ("0 0.5 -0.1 0.2 0.2", "line 1: cy is -0.1, outside 0..1"),
    ("0 0.5 0.5 1.5 0.2", "line 1: w is 1.5, outside 0..1"),
    ("0 0.1 0.1 1.2 0.1 0.5 0.5", "line 1: the box around its points: w is 1.1, outside 0..1"),
    ("0 -0.5 0.1 -0.1 0.1 -0.3 0.5", "line 1: the box around its points: cx is -0.3, outside 0..1"),
])
def test_yolo_coordinates_ultralytics_refuses_are_refused(empty_repo, tmp_path, line, says):
    # was: read as percent beyond the image (120%, -10%); Ultralytics' label check (verify_image_label)
    # refuses such a line ("non-normalized or out of bounds coordinates", "negative label values")
    src = _yolo(tmp_path / "y", lines=line + "\n")
    _refused(empty_repo, src, f"{src / 'labels' / 'a.txt'}: {says}", "Ultralytics refuses the line",
             "divided by the image width and height")


def test_a_yolo_pose_keypoint_outside_the_image_is_refused(empty_repo, tmp_path):
    src = _yolo(tmp_path / "y", lines="0 0.5 0.5 0.2 0.2 1.25 0.5 2\n")
    (src / "classes.txt").unlink()
    (src / "data.yaml").write_text("names: [cat]\nkpt_shape: [1, 3]\n")
    _refused(empty_repo, src, "line 1: keypoint 0 x is 1.25, outside 0..1")


def _exported(root: Path, fmt: str, out: Path) -> Path:
    p = _cli("export", "HEAD", "--format", fmt, "--out", str(out), cwd=root)
    assert p.returncode == 0, p.stderr
    return out


def test_boxes_the_defining_tools_accept_are_kept_exact(tmp_path, monkeypatch):
    # Ultralytics passes a box whose every number is in 0..1 though it crosses the edge; pycocotools
    # takes a bbox beyond the image; VOC has no checker: each is kept as written by the snapshot, not
    # clipped (the Label Studio export gives it back); a training export clips it to the image, as
    # Ultralytics' loader does, and says so
    monkeypatch.setenv("ANNOVER_REMOTE_HOME", str(tmp_path / "remotes"))
    doc = json.loads(_coco(tmp_path / "c.json", "b.jpg").read_text())
    doc["annotations"][0]["bbox"] = [90, 70, 30, 40]  # on a 100 x 80 image
    (tmp_path / "c.json").write_text(json.dumps(doc))
    voc_box = ("-10", "10", "130", "95")  # on a 100 x 80 image
    cases = {"yolo": _yolo(tmp_path / "y", lines="0 0.9 0.5 0.4 0.2\n"), "coco": tmp_path / "c.json",
             "voc": _voc(tmp_path / "v", box=voc_box)}
    kept = {"yolo": {"x": 70, "y": 40, "width": 40, "height": 20},  # percent, as written: past 100
            "coco": {"x": 90, "y": 87.5, "width": 30, "height": 50},
            "voc": {"x": -10, "y": 12.5, "width": 140, "height": 106.25}}
    for fmt, src in cases.items():
        root = tmp_path / f"repo-{fmt}"
        annover.init(root)
        p = _cli("snapshot", "--from", str(src), "-m", fmt, cwd=root)
        assert p.returncode == 0, p.stderr
        ls = _exported(root, "label-studio", tmp_path / f"out-{fmt}.json")
        (value,) = [r["value"] for t in json.loads(ls.read_text()) for r in t["annotations"][0]["result"]]
        assert {k: value[k] for k in kept[fmt]} == kept[fmt]
        p = _cli("export", "HEAD", "--format", fmt, "--out", str(tmp_path / f"out-{fmt}"), cwd=root)
        assert p.returncode == 0 and "1 box(es) crossing the image's edge were clipped to it" in p.stderr, p.stderr
        out = tmp_path / f"out-{fmt}"
        if fmt == "yolo":
            assert (out / "labels" / "a.txt").read_text().split() == "0 0.85 0.5 0.3 0.2".split()
        elif fmt == "coco":
            assert [a["bbox"] for a in json.loads(out.read_text())["annotations"]] == [[90, 70, 10, 10]]
        else:
            xml = (out / "Annotations" / "a.xml").read_text()
            assert all(f"<{k}>{v}</{k}>" in xml for k, v in zip(("xmin", "ymin", "xmax", "ymax"), (0, 10, 100, 80))), xml


@pytest.mark.parametrize("width, says", [
    ("1e23", "above 10,000,000 pixels"), ("nan", "not a finite number"), ("inf", "not a finite number"),
    ("0", "not above 0"), ("-5", "not above 0"), ("100.5", "not a whole number of pixels"),
    ("wide", "not a number")])
def test_a_voc_image_size_that_is_nonsense_is_refused(empty_repo, tmp_path, width, says):
    # was: 1e23 read (every box became 0 percent), 100.5 cut to 100, nan refused with "fix the box"
    src = _voc(tmp_path / "v", size=(width, "80"))
    _refused(empty_repo, src, f"{src / 'a.xml'}: <size> <width> is {width!r}: {says}",
             "give the image's width and height in pixels")


def test_a_coco_or_yolo_image_size_beyond_any_image_is_refused(empty_repo, tmp_path):
    # was: read, its boxes as a few 1e-20 percent, rounded to 0
    src = _coco(tmp_path / "c.json", "b.jpg", width=10 ** 23)
    _refused(empty_repo, src, f"{src}: image 1 (id 7): width is {10 ** 23}: above 10,000,000 pixels")
    src = _yolo(tmp_path / "y", sizes={"images/a.jpg": {"width": 10 ** 23, "height": 10}})
    _refused(empty_repo, src, f"{src / 'sizes.json'}: 'images/a.jpg': width {10 ** 23}: above 10,000,000 pixels")
