"""Features of annotation files written by other people (found in public repositories: Label Studio's
own test samples, CVAT/datumaro and Roboflow exports, NER corpora), each reproduced by a small input
written here: what such a file made annover do (a crash, a refusal of a valid file, an unclear
message), and what it does now. The files themselves are not copied (docs/inputs.md says what reads).
"""

from __future__ import annotations

import json

import annover

from .ls_fixtures import cli, png_bytes


def _snapshot(tmp_path, monkeypatch, src, *args: str) -> tuple[int, str, str]:
    """``annover snapshot --from src`` in a fresh repository (the cwd): (exit code, stdout, stderr)."""
    annover.init(tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    return cli("snapshot", "--from", str(src), "-m", "wild", *args)


def test_json_min_export_of_a_task_with_no_answer(tmp_path, monkeypatch):
    """Label Studio's own sample ``text_with_2_predictions.json`` (a task of predictions only), or any
    task with no ``annotations`` key read without a config: ``export --format json-min`` stopped with
    'unexpected KeyError: annotations' (exit 1). It writes one record per answer, none for such a task."""
    tasks = [{"data": {"text": "only predicted"},
              "predictions": [{"model_version": "m1", "result": [
                  {"from_name": "c", "to_name": "text", "type": "choices", "value": {"choices": ["x"]}}]}]},
             {"data": {"text": "not labeled"}},
             {"data": {"text": "answered"}, "annotations": [{"result": [
                 {"from_name": "c", "to_name": "text", "type": "choices", "value": {"choices": ["y"]}}]}]}]
    (tmp_path / "in.json").write_text(json.dumps(tasks))
    code, _, err = _snapshot(tmp_path, monkeypatch, tmp_path / "in.json")
    assert code == 0, err
    code, _, err = cli("export", "HEAD", "--format", "json-min", "--out", str(tmp_path / "min.json"))
    assert code == 0, err
    records = json.loads((tmp_path / "min.json").read_text())
    answered = [t for t in tasks if t.get("annotations")]
    assert [r["text"] for r in records] == [t["data"]["text"] for t in answered]
    assert [r["c"] for r in records] == [t["annotations"][0]["result"][0]["value"]["choices"][0] for t in answered]


def _exported(tmp_path, fmt: str = "label-studio") -> list[dict]:
    """HEAD exported as Label Studio JSON (the tasks as annover holds them)."""
    out = tmp_path / f"head.{fmt}.json"
    code, _, err = cli("export", "HEAD", "--format", fmt, "--out", str(out))
    assert code == 0, err
    return json.loads(out.read_text())


def _labels(tasks: list[dict]) -> dict[str, list[str]]:
    """image -> its regions' labels, sorted."""
    return {t["data"]["image"]: sorted(r["value"]["rectanglelabels"][0] for a in t["annotations"] for r in a["result"])
            for t in tasks}


def _darknet(root, names: list[str], files: dict[str, list[str]], obj_data: str | None, lists: dict[str, str]):
    """A Darknet folder: obj.names, obj.data, label files (path -> lines) beside 2x2 PNG images of their stem."""
    root.mkdir()
    (root / "obj.names").write_text("\n".join(names))  # no newline at the end, as Roboflow writes it
    if obj_data is not None:
        (root / "obj.data").write_text(obj_data)
    for name, text in lists.items():
        (root / name).write_text(text)
    for path, lines in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("".join(ln + "\n" for ln in lines))
        (root / path).with_suffix(".png").write_bytes(png_bytes((1, 2, 3)))


LINES = {"a": ["0 0.5 0.5 0.5 0.5", "1 0.25 0.25 0.5 0.5"], "b": ["1 0.5 0.5 1 1"]}


def _expected(folder: str, names: list[str]) -> dict[str, list[str]]:
    return {f"{folder}/{stem}.png": sorted(names[int(ln.split()[0])] for ln in lines) for stem, lines in LINES.items()}


def test_darknet_folder_as_cvat_exports_it(tmp_path, monkeypatch):
    """CVAT's "YOLO 1.1" export (and datumaro's yolo fixture): obj.names, obj.data, train.txt listing
    ``data/obj_train_data/<image>`` (Darknet's data/ folder is the dataset), the labels beside their
    images. It was 'not a training-format folder' (exit 3); it reads as YOLO, train.txt's images the
    train split, sized from the images."""
    names = ["cat", "dog"]
    files = {f"obj_train_data/{s}.txt": lines for s, lines in LINES.items()}
    listing = "".join(f"data/obj_train_data/{s}.png\n" for s in LINES)
    _darknet(tmp_path / "cvat", names, files, "classes = 2\ntrain = data/train.txt\nnames = data/obj.names\n"
             "backup = backup/\n", {"train.txt": listing})
    code, _, err = _snapshot(tmp_path, monkeypatch, tmp_path / "cvat")
    assert code == 0, err
    tasks = _exported(tmp_path)
    assert _labels(tasks) == _expected("obj_train_data", names)
    assert {t["data"].get("split") for t in tasks} == {"train"}
    sizes = {(r["original_width"], r["original_height"]) for t in tasks for r in t["annotations"][0]["result"]}
    assert sizes == {(2, 2)}  # png_bytes' images


def test_darknet_folder_as_roboflow_exports_it(tmp_path, monkeypatch):
    """Roboflow's "YOLO Darknet" export as a Colab notebook leaves it: obj.names, an obj.data naming
    lists by absolute paths of another machine, a README.roboflow.txt, the labels beside the images in
    obj/. Refused as the CVAT one was; now read, the README and the lists elsewhere not taken for labels."""
    names = ["Power_Cell", "Traffic_Cone"]
    files = {f"obj/{s}.txt": lines for s, lines in LINES.items()}
    _darknet(tmp_path / "rf", names, files, "classes= 2\ntrain = /content/x/train.txt\nvalid = /content/x/test.txt\n"
             "names = /content/x/obj.names\nbackup = backup/", {"README.roboflow.txt": "Exported via roboflow.ai\n"})
    code, _, err = _snapshot(tmp_path, monkeypatch, tmp_path / "rf")
    assert code == 0, err
    tasks = _exported(tmp_path)
    assert _labels(tasks) == _expected("obj", names)
    assert all("split" not in t["data"] for t in tasks)


def _ultralytics(root, yaml_text: str, lists: dict[str, str]) -> None:
    """A YOLO folder of data.yaml, images/train/<stem>.png and labels/train/<stem>.txt (LINES)."""
    for stem, lines in LINES.items():
        (root / "images/train").mkdir(parents=True, exist_ok=True)
        (root / "labels/train").mkdir(parents=True, exist_ok=True)
        (root / f"images/train/{stem}.png").write_bytes(png_bytes((4, 5, 6)))
        (root / f"labels/train/{stem}.txt").write_text("".join(ln + "\n" for ln in lines))
    (root / "data.yaml").write_text(yaml_text)
    for name, text in lists.items():
        (root / name).write_text(text)


def test_data_yaml_split_as_a_list_of_images(tmp_path, monkeypatch):
    """datumaro's yolov8_detection_with_list_of_imgs: ``train: [images/train/a.png, ...]``, images,
    not list files. Each was read as a list of image paths ('images/train/a.png: the text at line 1 is
    not UTF-8', exit 3); each is an image of the split."""
    root = tmp_path / "y"
    images = "".join(f"  - images/train/{s}.png\n" for s in LINES)
    _ultralytics(root, f"path: .\ntrain:\n{images}names:\n  0: cat\n  1: dog\n", {})
    code, _, err = _snapshot(tmp_path, monkeypatch, root)
    assert code == 0, err
    tasks = _exported(tmp_path)
    assert _labels(tasks) == _expected("images/train", ["cat", "dog"])
    assert {t["data"].get("split") for t in tasks} == {"train"}


def test_list_file_naming_images_under_darknet_data_folder(tmp_path, monkeypatch):
    """datumaro's yolov8_detection_with_subset_txt: ``train: train.txt`` whose lines are
    ``data/images/train/a.png`` (CVAT's and datumaro's lists name the dataset data/). Refused ('image
    ... is not in the dataset folder'); the path after data/ is read where data/<path> is not there."""
    root = tmp_path / "y"
    listing = "".join(f"data/images/train/{s}.png\n" for s in LINES)
    _ultralytics(root, "path: .\ntrain: train.txt\nnames: [cat, dog]\n", {"train.txt": listing})
    code, _, err = _snapshot(tmp_path, monkeypatch, root)
    assert code == 0, err
    assert _labels(_exported(tmp_path)) == _expected("images/train", ["cat", "dog"])


IMAGE = {"id": 5, "width": 10, "height": 5, "file_name": "a.jpg"}


def test_coco_captions_and_panoptic_files_are_named_as_such(tmp_path, monkeypatch):
    """datumaro's coco_captions and coco_panoptic fixtures (the layouts of COCO's captions_*.json and
    panoptic_*.json): refused as 'category_id 0 names no category — add the category', which sends the
    user to edit a file that is fine. They are refused (exit 3, nothing written) as what they are."""
    files = {"captions": {"images": [IMAGE], "categories": [],
                          "annotations": [{"id": 1, "image_id": 5, "category_id": 0, "caption": "hello"}]},
             "panoptic": {"images": [IMAGE], "categories": [{"id": 1, "name": "a", "isthing": 0}],
                          "annotations": [{"image_id": 5, "file_name": "a.png", "segments_info": [
                              {"id": 460551, "category_id": 1, "area": 20.0, "bbox": [2, 0, 4, 4], "iscrowd": 0}]}]}}
    annover.init(tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    for kind, doc in files.items():
        (tmp_path / f"{kind}.json").write_text(json.dumps(doc))
        code, _, err = cli("snapshot", "--from", str(tmp_path / f"{kind}.json"), "-m", kind)
        assert code == 3, err
        assert f"a COCO {kind} file" in err and "names no category" not in err
        assert len(err.strip().splitlines()) == 1
    code, out, _ = cli("log")
    assert code == 0 and "v1" not in out


def test_conll_with_a_column_after_the_tag_names_the_tag_column(tmp_path, monkeypatch):
    """flair's column_with_whitespaces fixture: ``token TAG +`` (the last column is flair's space-after
    flag). It was refused as "tag '+' is not O, B-X, ..." with the hint to use BIO tags, which the file
    does; the refusal now names the column that holds the tags and says to put it last."""
    rows = [("It", "O", "+"), ("is", "O", "+"), ("German", "B-LOC", "-"), ("-", "O", "-"), ("owned", "O", "+")]
    (tmp_path / "ws.conll").write_text("".join(" ".join(r) + "\n" for r in rows))
    code, _, err = _snapshot(tmp_path, monkeypatch, tmp_path / "ws.conll")
    col = next(j for j in range(len(rows[0])) if all(r[j] == "O" or r[j][1:2] == "-" and len(r[j]) > 2 for r in rows))
    assert code == 3
    assert f"column {col + 1} holds tags" in err and len(err.strip().splitlines()) == 1


def test_voc_file_naming_another_image_is_warned(tmp_path, monkeypatch):
    """mmdetection's VOC fixture: Annotations/000001.xml whose <filename> is 000002.jpg. It was read
    as image 000002 in silence (and exported as Annotations/000002.xml), where VOC's loaders open
    JPEGImages/000001.jpg for it; the snapshot now warns, naming the file and the image."""
    xml, image = "000001.xml", "000002.jpg"
    (tmp_path / "voc/Annotations").mkdir(parents=True)
    (tmp_path / "voc/Annotations" / xml).write_text(
        f"<annotation><filename>{image}</filename><size><width>335</width><height>500</height><depth>3</depth>"
        "</size><object><name>train</name><bndbox><xmin>139</xmin><ymin>200</ymin><xmax>207</xmax><ymax>301</ymax>"
        "</bndbox></object></annotation>")
    code, _, err = _snapshot(tmp_path, monkeypatch, tmp_path / "voc")
    assert code == 0, err
    warned = [ln for ln in err.splitlines() if xml in ln]
    assert len(warned) == 1 and repr(image) in warned[0]
    assert [t["data"]["image"] for t in _exported(tmp_path)] == [image]
