"""Bad input as people make it, that annover let through or explained poorly: found by damaging the
real files of ../shared/corpus (read in place) and feeding them to the command line. Each case is
refused with one line naming the file, the record and the field and how to fix it, a documented exit
code, and nothing written (every file of the repository byte for byte, with and without --dry-run)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import annover

from .conftest import shared_corpus
from .ls_fixtures import ls, ls_server, project_factory, sdk_admin  # noqa: F401  (fixtures)
from .test_cli import invoke

LS = shared_corpus("label-studio")
#: what any read writes: annover's note that git's index agrees with HEAD (a cache; README)
READ_CACHE = ".git/annover-index-agrees"


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and str(p.relative_to(root)) != READ_CACHE and p.name != "lock"}


@pytest.fixture
def empty_repo(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    annover.init(root)
    monkeypatch.chdir(root)
    return root


def _refused(root: Path, args: list[str], code: int, *says: str) -> str:
    before = _tree(root)
    for dry in ([], ["--dry-run"]):
        got, out, err = invoke(*args, *dry)
        assert got == code, err
        assert err.count("\n") == 1 and err.startswith("Error: ") and "Traceback" not in err, err
        for s in says:
            assert s in err, err
    assert _tree(root) == before
    return err


# ---------------------------------------------------------------------------
# a box's coordinate or its image's size written as text: label-studio-sdk's check reads "10" as 10,
# and the version kept the text (exports then read it as a number, or not)


def _bbox_export(tmp_path: Path, where: str, field: str, value) -> Path:
    tasks = json.loads((LS / "evalme_bbox_multi.json").read_text(encoding="utf-8"))
    item = tasks[0]["annotations"][0]["result"][0]
    (item["value"] if where == "value" else item)[field] = value
    path = tmp_path / "boxes.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    return path


@pytest.mark.parametrize("where, field, value, says", [
    ("value", "width", "10", "value.width is str '10', expected a number"),
    ("value", "x", "36.25", "value.x is str '36.25', expected a number"),
    ("value", "rotation", "90", "value.rotation is str '90', expected a number"),
    ("value", "height", True, "value.height is bool 'True', expected a number"),
    ("value", "y", [1], "value.y is list '[1]', expected a number"),
    ("item", "original_width", "320", "original_width is str '320', expected a number"),
])
def test_a_box_coordinate_given_as_text_is_refused_naming_it(empty_repo, tmp_path, where, field, value, says):
    src = _bbox_export(tmp_path, where, field, value)
    err = _refused(empty_repo, ["snapshot", "--from", str(src), "--config", str(LS / "evalme_bbox_multi.xml"),
                                "-m", "x"], 4, says, "task 0", "annotation 0 (id 126)", "result 0 (id SMiPhTvFAt)")
    assert "boxes.json" in err


def test_a_polygon_point_given_as_text_is_refused_naming_it(empty_repo, tmp_path):
    tasks = json.loads((LS / "sdk_polygons.json").read_text(encoding="utf-8"))
    item = next(r for t in tasks for a in t["annotations"] for r in a["result"] if r.get("type") == "polygonlabels")
    item["value"]["points"][0][1] = "12.5"
    src = tmp_path / "polygons.json"
    src.write_text(json.dumps(tasks), encoding="utf-8")
    _refused(empty_repo, ["snapshot", "--from", str(src), "--config", str(LS / "sdk_polygons.xml"), "-m", "x"], 4,
             "value.points holds", "expected [x, y] pairs of numbers", "polygons.json", "field value.points")


def test_the_boxes_as_exported_are_still_read(empty_repo):
    code, out, err = invoke("snapshot", "--from", str(LS / "evalme_bbox_multi.json"), "--config",
                            str(LS / "evalme_bbox_multi.xml"), "-m", "x", "--dry-run")
    assert code == 0, err


# ---------------------------------------------------------------------------
# a predictions file that holds no prediction: attached none, and said nothing


@pytest.fixture
def v1(empty_repo):
    code, _, err = invoke("snapshot", "--from", str(LS / "fe_sentiment_two_annotators.json"), "--config",
                          str(LS / "fe_sentiment_two_annotators.xml"), "--key", "id", "-m", "v1", "-q")
    assert code == 0, err
    return empty_repo


@pytest.mark.parametrize("name, content, says", [
    ("preds.jsonl", b"", "holds no prediction (the file is empty)"),
    ("preds.jsonl", b"\n\n", "holds no prediction (the file is empty)"),
    ("preds.json", b"[]", "holds no prediction (the file is empty)"),
])
def test_a_predictions_file_of_no_prediction_is_refused(v1, tmp_path, name, content, says):
    src = tmp_path / name
    src.write_bytes(content)
    _refused(v1, ["snapshot", "--from", str(LS / "fe_sentiment_two_annotators.json"), "--predictions", str(src),
                  "-m", "x"], 3, says, name, "leave --predictions out")


def test_a_predictions_file_as_documented_is_still_read(v1, tmp_path):
    src = tmp_path / "preds.jsonl"
    src.write_text(json.dumps({"task_key": "1", "model_version": "m1", "score": 0.9, "result": [
        {"from_name": "sentiment", "to_name": "my_text", "type": "choices", "value": {"choices": ["Positive"]}}]}),
        encoding="utf-8")
    code, _, err = invoke("snapshot", "--from", str(LS / "fe_sentiment_two_annotators.json"), "--predictions",
                          str(src), "-m", "x", "-q")
    assert code == 0, err


# ---------------------------------------------------------------------------
# a labeling config whose <Choices> lost its <Choice> tags: label-studio-sdk says "'View' is a
# required property", which names neither the control nor what it lacks


@pytest.mark.parametrize("args", [["config", "validate", "{cfg}"],
                                  ["snapshot", "--from", str(LS / "fe_sentiment_two_annotators.json"),
                                   "--config", "{cfg}", "-m", "x"]])
def test_a_choices_control_without_a_choice_is_named(empty_repo, tmp_path, args):
    text = (LS / "fe_sentiment_two_annotators.xml").read_text(encoding="utf-8")
    for choice in ("Positive", "Negative", "Neutral"):
        text = text.replace(f'<Choice value="{choice}"/>', "")
    cfg = tmp_path / "labeling.xml"
    cfg.write_text(text, encoding="utf-8")
    args = [a.format(cfg=cfg) for a in args]
    says = ("labeling.xml: control 'sentiment' (<Choices>) has no <Choice> to choose from", 'add <Choice value=')
    if args[0] == "snapshot":
        _refused(empty_repo, args, 5, *says)
    else:
        code, out, err = invoke(*args)
        assert code == 5 and err.count("\n") == 1 and all(s in err for s in says), err


def test_choices_from_the_task_data_need_no_choice_tag(empty_repo, tmp_path):
    cfg = tmp_path / "labeling.xml"
    cfg.write_text('<View><Text name="t" value="$text"/><Choices name="c" toName="t" value="$options"/></View>',
                   encoding="utf-8")
    code, out, err = invoke("config", "validate", str(cfg))
    assert code == 0, err


# ---------------------------------------------------------------------------
# dataset push --annotations sent what a snapshot of the same file refuses ("would send 4 annotation(s)"
# of a result that is the text 'Positive', a was_cancelled of "no", an annotator [1])


@pytest.mark.parametrize("field, value, says", [
    ("result", "Positive", "annotation 0.result: is str 'Positive', expected a list"),
    ("was_cancelled", "no", "annotation 0.was_cancelled: is str 'no', expected true or false"),
    ("ground_truth", "yes", "annotation 0.ground_truth: is str 'yes', expected true or false"),
    ("completed_by", [1], "annotation 0, field completed_by: is list [1], expected a user id"),
    ("lead_time", "12s", "annotation 0.lead_time: is str '12s', expected a number"),
])
def test_dataset_push_refuses_the_annotations_a_snapshot_refuses(empty_repo, tmp_path, project_factory, sdk_admin,
                                                                  field, value, says):
    project = project_factory("bad-ann", (LS / "fe_sentiment_two_annotators.xml").read_text(encoding="utf-8"))
    tasks = json.loads((LS / "fe_sentiment_two_annotators.json").read_text(encoding="utf-8"))
    tasks[0]["annotations"][0][field] = value
    src = tmp_path / "export.json"
    src.write_text(json.dumps(tasks), encoding="utf-8")
    for args in (["snapshot", "--from", str(src), "--config", str(LS / "fe_sentiment_two_annotators.xml"),
                  "-m", "x", "--dry-run"],
                 ["dataset", "push", str(project.id), "--from", str(src), "--annotations", "--dry-run"]):
        code, out, err = invoke(*args)
        assert code == 3 and err.count("\n") == 1 and says in err and "export.json" in err, err
    code, out, err = invoke("dataset", "push", str(project.id), "--from", str(src), "--annotations")
    assert code == 3 and says in err, err
    assert list(sdk_admin.tasks.list(project=project.id)) == []


# ---------------------------------------------------------------------------
# a COCO file missing its 'images' list, or with 'annotations' as an object: was read as Label Studio
# ("expected a JSON list of tasks, got an object"), and --format coco said "no 'images' list" of both

FORMATS = shared_corpus("formats")


@pytest.mark.parametrize("damage, says", [
    (lambda d: d.pop("images"), "'images' list is missing"),
    (lambda d: d.__setitem__("annotations", {}), "'annotations' is dict, not a list"),
    (lambda d: d.__setitem__("categories", "pieces"), "'categories' is str, not a list"),
])
@pytest.mark.parametrize("fmt", [[], ["--format", "coco"]])
def test_a_coco_file_missing_a_list_says_which(empty_repo, tmp_path, damage, says, fmt):
    doc = json.loads((FORMATS / "coco_chess_roboflow.json").read_text(encoding="utf-8"))
    damage(doc)
    src = tmp_path / "instances.json"
    src.write_text(json.dumps(doc), encoding="utf-8")
    _refused(empty_repo, ["snapshot", "--from", str(src), "-m", "x", *fmt], 3, "instances.json: ", says,
             "give a COCO JSON with the lists images, annotations, categories")


# ---------------------------------------------------------------------------
# YOLO: a blank line between the names of classes.txt was skipped, so the classes after it took ids
# label-studio-sdk's YOLO import gives other classes (it counts the blank line as one); a sizes.json cut
# off said "invalid JSON: Unterminated string starting at" and no place


def _yolo(tmp_path: Path, name: str, edit) -> Path:
    src = FORMATS / "yolo_detect_lssdk"
    root = tmp_path / "yolo"
    for f in src.rglob("*"):
        if f.is_file():
            (root / f.relative_to(src)).parent.mkdir(parents=True, exist_ok=True)
            (root / f.relative_to(src)).write_bytes(f.read_bytes())
    (root / name).write_bytes(edit((root / name).read_bytes()))
    return root


@pytest.mark.parametrize("edit, says", [
    (lambda b: b.replace(b"bus\n", b"\nbus\n"), "classes.txt: line 3 is blank, between class names"),
    (lambda b: b"\n" + b, "classes.txt: line 1 is blank, between class names"),
    (lambda b: b.replace(b"bus\n", b"  \r\nbus\n"), "classes.txt: line 3 is blank, between class names"),
])
def test_a_blank_line_between_yolo_class_names_is_refused(empty_repo, tmp_path, edit, says):
    root = _yolo(tmp_path, "classes.txt", edit)
    _refused(empty_repo, ["snapshot", "--from", str(root), "-m", "x"], 3, says, "remove the blank line")


def test_blank_lines_after_the_yolo_class_names_are_still_read(empty_repo, tmp_path):
    root = _yolo(tmp_path, "classes.txt", lambda b: b + b"\n\n")
    code, out, err = invoke("snapshot", "--from", str(root), "-m", "x", "-q")
    assert code == 0, err


def test_a_yolo_sizes_json_cut_off_says_where(empty_repo, tmp_path):
    root = _yolo(tmp_path, "sizes.json", lambda b: b[:20])
    _refused(empty_repo, ["snapshot", "--from", str(root), "-m", "x"], 3,
             "sizes.json: invalid JSON at line 2 column 3: Unterminated string", "fix sizes.json")


# ---------------------------------------------------------------------------
# dataset push of a result whose fields are missing or not text said it in label-studio-sdk's Python
# ("AttributeError: 'int' object has no attribute 'lower'", "argument of type 'NoneType' is not iterable")

_PYTHON_WORDS = ("AttributeError", "NoneType", "object has no attribute", "is not iterable", "Error validating")


@pytest.mark.parametrize("where", ["annotations", "predictions"])
@pytest.mark.parametrize("field, value, says", [
    ("type", 5, "type"), ("value", None, "no value"), ("from_name", None, "from_name"), ("to_name", 3, "to_name")])
def test_dataset_push_says_which_result_field_is_wrong_in_its_own_words(empty_repo, tmp_path, project_factory,
                                                                        sdk_admin, where, field, value, says):
    project = project_factory("bad-result", (LS / "fe_sentiment_two_annotators.xml").read_text(encoding="utf-8"))
    tasks = json.loads((LS / "fe_sentiment_two_annotators.json").read_text(encoding="utf-8"))
    item = dict(tasks[0]["annotations"][0]["result"][0], **{field: value})
    if where == "annotations":
        tasks[0]["annotations"][0]["result"][0] = item
    else:
        tasks[0]["predictions"] = [{"model_version": "m", "score": 0.5, "result": [item]}]
    src = tmp_path / "export.json"
    src.write_text(json.dumps(tasks), encoding="utf-8")
    push = ["dataset", "push", str(project.id), "--from", str(src)] + (["--annotations"] if where == "annotations"
                                                                       else [])
    for dry in (["--dry-run"], []):
        code, out, err = invoke(*push, *dry)
        assert code in (3, 4) and err.count("\n") == 1 and says in err and "export.json" in err, err
        assert not any(w in err for w in _PYTHON_WORDS), err
    assert list(sdk_admin.tasks.list(project=project.id)) == []


# ---------------------------------------------------------------------------
# COCO: a segmentation that is neither polygons nor RLE was read as none (the box kept, nothing
# said), and a keypoint visibility other than 0, 1, 2 was kept as given


@pytest.mark.parametrize("seg, says", [("abc", "segmentation is text 'abc'"), (5, "segmentation is a number"),
                                       ({"size": [1, 1]}, "segmentation is an object"),
                                       ([[1, 2, 3, 4, 5, 6], "x"], "segmentation is a list")])
def test_coco_segmentation_of_another_kind_is_refused(empty_repo, tmp_path, seg, says):
    doc = json.loads((FORMATS / "coco_polygons_cocoannotator.json").read_text(encoding="utf-8"))
    doc["annotations"][0]["segmentation"] = seg
    src = tmp_path / "damaged.json"
    src.write_text(json.dumps(doc), encoding="utf-8")
    _refused(empty_repo, ["snapshot", "--from", str(src), "-m", "x"], 3, says, "damaged.json", "annotation 0")


def test_coco_flat_segmentation_is_one_polygon_as_pycocotools_reads_it(empty_repo, tmp_path):
    doc = json.loads((FORMATS / "coco_polygons_cocoannotator.json").read_text(encoding="utf-8"))
    nested = next(a for a in doc["annotations"] if isinstance(a.get("segmentation"), list)
                  and len(a["segmentation"]) == 1)
    flat = json.loads(json.dumps(doc))
    for a in flat["annotations"]:
        if a["id"] == nested["id"]:
            a["segmentation"] = a["segmentation"][0]
    changed = []
    for name, d in (("nested.json", doc), ("flat.json", flat)):
        (tmp_path / name).write_text(json.dumps(d), encoding="utf-8")
        code, out, err = invoke("snapshot", "--from", str(tmp_path / name), "-m", name, "--json")
        assert code == 0, err
        changed.append(json.loads(out)["changed"])
    assert changed == [True, False]  # the flat polygon is the same region as the nested one


@pytest.mark.parametrize("v", [7, "2", True, -1])
def test_coco_keypoint_visibility_not_0_1_2_is_refused(empty_repo, tmp_path, v):
    doc = json.loads((FORMATS / "coco_person_keypoints_mmpose.json").read_text(encoding="utf-8"))
    ann = next(a for a in doc["annotations"] if any(a.get("keypoints", [])[2::3]))
    ann["keypoints"][2] = v
    src = tmp_path / "damaged.json"
    src.write_text(json.dumps(doc), encoding="utf-8")
    _refused(empty_repo, ["snapshot", "--from", str(src), "-m", "x"], 3, "has visibility", "damaged.json")


def test_dataset_push_of_a_parquet_file_says_to_send_its_version(empty_repo, tmp_path, project_factory, sdk_admin):
    """It said "unknown file type .parquet", of a file annover itself reads."""
    project = project_factory("parquet", (LS / "fe_sentiment_two_annotators.xml").read_text(encoding="utf-8"))
    src = tmp_path / "labels.parquet"
    src.write_bytes(b"PAR1")
    for dry in (["--dry-run"], []):
        code, _, err = invoke("dataset", "push", str(project.id), "--from", str(src), *dry)
        assert code == 3 and err.count("\n") == 1, err
        assert "labels.parquet" in err and "annover snapshot --from labels.parquet" in err and "--from HEAD" in err, err
    assert list(sdk_admin.tasks.list(project=project.id)) == []


def test_a_label_file_that_is_a_folder_is_called_a_folder(empty_repo, tmp_path):
    """It was "not a regular file (a pipe, a device or a socket)"."""
    src = tmp_path / "yolo"
    shutil.copytree(FORMATS / "yolo_detect_lssdk", src)
    first = sorted((src / "labels").iterdir())[0]
    first.unlink()
    first.mkdir()
    _refused(empty_repo, ["snapshot", "--from", str(src), "-m", "x"], 3,
             f"labels/{first.name}: a folder, where a file is read")


@pytest.mark.parametrize("which", ["config", "classes.txt"])
def test_text_that_is_not_utf8_is_named_by_line_and_column(empty_repo, tmp_path, which):
    """A config said "cannot read: 'utf-8' codec can't decode byte 0xe9 in position 94", a YOLO
    classes.txt "not UTF-8 text (byte 9: ...)": a byte count, no line."""
    if which == "config":
        cfg = tmp_path / "latin.xml"
        cfg.write_bytes(b'<View>\n  <Text name="t" value="$text"/>\n  <Choices name="c" toName="t">\n'
                        b'    <Choice value="caf\xe9"/>\n  </Choices>\n</View>\n')
        args = ["snapshot", "--from", str(LS / "fe_sentiment_two_annotators.json"), "--config", str(cfg), "-m", "x"]
        code, says = 5, "latin.xml: the text at line 4 column 23 is not UTF-8"
    else:
        src = tmp_path / "yolo"
        shutil.copytree(FORMATS / "yolo_detect_lssdk", src)
        names = (src / "classes.txt").read_bytes().splitlines()
        (src / "classes.txt").write_bytes(b"\n".join([names[0], b"b\xe9", *names[2:]]) + b"\n")
        args, code, says = ["snapshot", "--from", str(src), "-m", "x"], 3, "the text at line 2 column 2 is not UTF-8"
    _refused(empty_repo, args, code, says)
