"""Hostile or careless files through the readers of Label Studio's Export button and of annover's own HF
export: a carried labeling config of another dataset, carried cells that are no task's rest, a notes.json
that is no JSON or names keypoints no config holds, a TSV of a million columns or of JSON nested past
Python's reach, COCO image records of one file name that are not one image, and image keys whose Label
Studio prefix, stripped, would make two keys one. Each is refused in one line naming the file, the record
and the field, with the documented exit code and nothing written; none hangs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annover.formats.hf import MARK, save, to_dataset
from annover.formats.label_studio import LS_URL_PREFIX, from_ls_tasks, stem_key, unprefixed_stems
from annover.formats.read import read_source
from annover.formats.resolve import pick
from annover.formats.training import read_train
from annover.model.config import LabelingConfig

from .test_cli import invoke

READ_CACHE = ".git/annover-index-agrees"
CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text">
    <Choice value="pos"/>
    <Choice value="neg"/>
  </Choices>
</View>
"""


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and str(p.relative_to(root)) != READ_CACHE and p.name != "lock"}


def _refused(root: Path, code: int, args: list[str], *says: str) -> str:
    """``annover snapshot --from ARGS`` in ``root``: exit ``code``, one line saying ``says``, nothing written."""
    before = _tree(root)
    got, _, err = invoke("snapshot", "--from", *args, "-m", "hostile")
    assert got == code, err
    assert err.count("\n") == 1 and "Traceback" not in err and "unexpected" not in err, err
    for s in says:
        assert s in err, err
    assert _tree(root) == before
    return err


# -- annover's own HF export: the config in the last column's feature id, and its cells ----------------------


@pytest.fixture
def hf_export(tmp_path) -> tuple[Path, datasets.Dataset]:
    """(folder, dataset) of annover's HF export of three texts, one with a task meta the last column carries."""
    tasks = [{"id": f"t{i}", "data": {"text": f"text {i}", "n": i}, **({"meta": {"m": i}} if i else {}),
              "annotations": [{"completed_by": 1, "result": [{"from_name": "sentiment", "to_name": "text",
                                                             "type": "choices", "value": {"choices": [lb]}}]}]}
             for i, lb in enumerate(["pos", "neg", "pos"])]
    t = from_ls_tasks(tasks, "generated", key="id")
    tables = {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions}
    ds = to_dataset(pick(tables), LabelingConfig(CONFIG, validate=False), [], None, t.tasks)
    save(ds, str(tmp_path / "hf"))
    return tmp_path / "hf", ds


def _edited(tmp_path: Path, ds: datasets.Dataset, name: str, config: str | None = None,
            cell: tuple[int, str] | None = None) -> Path:
    """``ds`` with its last column's feature id naming ``config``, or its cell of row ``cell[0]`` ``cell[1]``."""
    features = ds.features.copy()
    if config is not None:
        features["_annover"] = datasets.Value("string", id=json.dumps({"annover": MARK, "config": config}))
    columns = ds.to_dict()
    if cell is not None:
        columns["_annover"][cell[0]] = cell[1]
    save(datasets.Dataset.from_dict(columns, features=features), str(tmp_path / name))
    return tmp_path / name


def test_the_export_reads_back_as_it_was(repo, hf_export):
    """The untouched export is read (what the refusals below are measured against)."""
    folder, ds = hf_export
    back = read_train(folder, "hf", None, True)
    assert back.config_text == CONFIG
    assert back.tasks.num_rows == ds.num_rows


@pytest.mark.parametrize("config,says", [
    # was: read with tokens and labels as controls of no config, stored beside a config of boxes (exit 0)
    ('<View><Image name="image" value="$image"/><RectangleLabels name="box" toName="image">'
     '<Label value="car"/></RectangleLabels></View>', ["has no control 'sentiment'", "field 'image'"]),
    # was: stored with a config that reads $body while the texts are data.text (exit 0)
    (CONFIG.replace("$text", "$body"), ["reads the data field 'body', which no column holds"]),
])
def test_a_carried_config_of_another_dataset_is_refused(repo, hf_export, tmp_path, config, says):
    folder = _edited(tmp_path, hf_export[1], "other", config=config)
    _refused(Path.cwd(), 3, [str(folder), "--format", "hf"], str(folder), "the labeling config it carries",
             "--config", *says)


def test_labels_the_carried_config_lacks_are_refused_as_with_config(repo, hf_export, tmp_path):
    # was: stored without a word beside a config whose <Choices> has no such label (exit 0)
    folder = _edited(tmp_path, hf_export[1], "relabeled", config=CONFIG.replace('"pos"', '"great"'))
    _refused(Path.cwd(), 4, [str(folder), "--format", "hf"], "label 'pos' is not in control 'sentiment'")


@pytest.mark.parametrize("config,says", [
    ('<!DOCTYPE v [<!ENTITY x SYSTEM "file:///etc/hostname">]>' + CONFIG.replace("pos", "&x;"), "refused unsafe XML"),
    ('<!DOCTYPE v [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
     + CONFIG.replace("pos", "&b;"), "refused unsafe XML"),
    ("not <xml", "not valid XML"),
])
def test_a_carried_config_is_parsed_safely(repo, hf_export, tmp_path, config, says):
    """A DTD (an external entity, entities expanding each other) is refused whole, nothing expanded or read."""
    folder = _edited(tmp_path, hf_export[1], "unsafe", config=config)
    _refused(Path.cwd(), 5, [str(folder), "--format", "hf"], str(folder), says)


@pytest.mark.parametrize("cell,says", [
    ("{not json", "is not annover's JSON of a task's rest"),  # was: "not a result value as JSON"
    ("[1, 2]", "is not annover's JSON of a task's rest"),
    ('{"data": [1], "extra": 5}', "is not annover's JSON of a task's rest"),  # was: TypeError, exit 1
    ('{"data": {"n": 1}, "rows": 2}', "is not annover's JSON of a task's rest"),
    ("[" * 100_000 + "]" * 100_000, "nested more deeply than Python can read"),  # was: RecursionError, exit 1
    # were: the answers dropped without a word; predictions read as the task's
    (json.dumps({"extra": {"annotations": [{"result": []}]}}), "extra.annotations is a field of the task itself"),
    (json.dumps({"extra": {"predictions": [{"result": []}]}}), "extra.predictions is a field of the task itself"),
])
def test_a_carried_cell_that_is_no_tasks_rest_is_refused(repo, hf_export, tmp_path, cell, says):
    folder = _edited(tmp_path, hf_export[1], "cell", cell=(1, cell))
    _refused(Path.cwd(), 3, [str(folder), "--format", "hf"], f"{folder}: row 1, column '_annover'", says)


# -- Label Studio's CSV / TSV export --------------------------------------------------------------------------

LS_HEADER = ["annotation_id", "annotator", "created_at", "id", "lead_time", "sentiment", "text", "updated_at"]


def _tsv(path: Path, rows: list[list[str]], extra: list[str] = ()) -> Path:
    """A TSV as Label Studio's export writes it (QUOTE_NONNUMERIC), named .csv as the server names it."""
    lines = ["\t".join(f'"{h}"' for h in [*LS_HEADER, *extra])] + ["\t".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _row(i: int, text: str) -> list[str]:
    return [str(100 + i), '"a@example.com"', '"2024-01-01"', str(i), "1.5", '"pos"', text, '"2024-01-01"']


def test_a_tsv_cell_of_json_nested_past_pythons_reach_is_refused_naming_line_and_column(repo, tmp_path):
    (tmp_path / "c.xml").write_text(CONFIG)
    f = _tsv(tmp_path / "deep.csv", [_row(1, '"t"'), _row(2, '"' + "[" * 100_000 + "]" * 100_000 + '"')])
    _refused(Path.cwd(), 3, [str(f), "--config", str(tmp_path / "c.xml")], f"{f}: line 3, column 'text'",
             "nested more deeply")  # was: RecursionError, exit 1


def test_a_quote_never_closed_is_said_so(repo, tmp_path):
    (tmp_path / "c.xml").write_text(CONFIG)
    f = _tsv(tmp_path / "open.csv", [_row(1, '"t"'), _row(2, '"t"')[:-1] + ['"2024-01-01']])
    _refused(Path.cwd(), 3, [str(f), "--config", str(tmp_path / "c.xml")], f"{f}: cannot read CSV at line 3",
             "never closed")  # was: "a quote inside an unquoted cell", of a cell that has its quote first


def _no_hang(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``code`` run by Python in a process of its own, so a test of what hung fails rather than waits forever."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=timeout)


def test_a_header_of_100000_columns_is_read_not_compared_pairwise(tmp_path):
    # was: each column looked for among those before it (5e9 comparisons: hours); now once
    n = 100_000
    f = _tsv(tmp_path / "wide.csv", [_row(1, '"t"') + ["1"] * n], [f"c{i}" for i in range(n)])
    p = _no_hang("from pathlib import Path; from annover.formats.ls_csv import read_label_studio_csv as r; "
                 f"print(len(r(Path({str(f)!r}), None)[0]))")
    assert p.returncode == 0, p.stderr
    assert int(p.stdout) == len(LS_HEADER) + n  # every cell holds a value: a key each


# -- YOLO: notes.json of Label Studio's export ----------------------------------------------------------------


def _yolo(root: Path, notes: bytes, line: str = "0 0.5 0.5 0.2 0.2 0.45 0.45 2 0.55 0.55 2") -> Path:
    """Label Studio's YOLO export of boxes with two keypoints each: classes.txt, labels/, notes.json."""
    (root / "labels").mkdir(parents=True)
    (root / "classes.txt").write_text("person\n")
    (root / "labels" / "a.txt").write_text(line + "\n")
    (root / "notes.json").write_bytes(notes)
    return root


def _notes(keypoints: list) -> bytes:
    return json.dumps({"categories": [{"id": 0, "name": "person", "keypoints": keypoints}], "info": {}}).encode()


def test_notes_json_naming_the_keypoints_is_read(repo, tmp_path):
    back = read_train(_yolo(tmp_path / "ok", _notes(["left", "right"])), "yolo", None, True)
    labels = sorted(json.loads(v)["keypointlabels"][0] for v in back.annotations.column("value").to_pylist()
                    if "keypointlabels" in json.loads(v))
    assert labels == ["left", "right"]


@pytest.mark.parametrize("notes,says", [
    (b"{oops", "invalid JSON at line 1"),  # was: ignored, and each line read as a polygon of 5 points
    (b"", "the file is empty"),
    (b"[" * 100_000 + b"]" * 100_000, "JSON nested more deeply"),  # was: RecursionError, exit 1
    (_notes(["a", "a"]), "categories[0].keypoints names the keypoint 'a' 2 times"),  # was: named classes.txt
    (_notes(["a", 7]), "categories[0].keypoints[1] is 7, not a keypoint name"),  # was: named classes.txt
    (_notes(["a", "b\x00"]), "categories[0].keypoints[1] is 'b\\x00': a character XML cannot hold"),
])
def test_a_notes_json_that_is_no_list_of_keypoint_names_is_refused_naming_it(repo, tmp_path, notes, says):
    root = _yolo(tmp_path / "yolo", notes)
    _refused(Path.cwd(), 3, [str(root)], f"{root / 'notes.json'}: {says}")


def test_notes_json_of_100000_keypoints_does_not_hang(tmp_path):
    # was: the keypoint names compared pairwise (minutes); the line, of 2 keypoints, is refused at once
    n = 100_000
    root = _yolo(tmp_path / "yolo", _notes([f"k{i}" for i in range(n)]))
    p = _no_hang("from pathlib import Path; from annover.formats.training import read_train; "
                 f"read_train(Path({str(root)!r}), 'yolo', None, True)")
    assert p.returncode != 0 and f"a pose line has {4 + 3 * n}" in p.stderr, p.stderr


# -- COCO: Label Studio's export folder, image records of one file name ---------------------------------------


def _coco_folder(root: Path, images: list[dict]) -> Path:
    """Label Studio's COCO export unzipped: result.json (a box on each image record) and images/."""
    (root / "images").mkdir(parents=True)
    doc = {"images": images, "categories": [{"id": 0, "name": "car"}],
           "annotations": [{"id": i, "image_id": im["id"], "category_id": 0, "bbox": [1, 2, 10, 10], "area": 100,
                            "iscrowd": 0} for i, im in enumerate(images)]}
    (root / "result.json").write_text(json.dumps(doc))
    return root


def test_image_records_of_one_file_name_and_size_are_one_image_answered_several_times(repo, tmp_path):
    images = [{"id": i, "file_name": "images/a.jpg", "width": 100, "height": 80} for i in range(3)]
    back = read_source(_coco_folder(tmp_path / "coco", images))  # the folder, as the Export button's zip holds it
    assert back.tasks.column("task_key").to_pylist() == sorted({stem_key(im["file_name"]) for im in images})
    assert len(set(back.annotations.column("annotation_key").to_pylist())) == len(images)


@pytest.mark.parametrize("field,other", [("width", 200), ("height", 160), ("coco_url", "http://x/a.jpg")])
def test_image_records_of_one_file_name_that_differ_are_refused_naming_both(repo, tmp_path, field, other):
    # was: "duplicate task (task_key='a') ... give the two images distinct file names", naming neither record
    first = {"id": 7, "file_name": "images/a.jpg", "width": 100, "height": 80}
    second = {**first, "id": 8, field: other}
    root = _coco_folder(tmp_path / "coco", [first, second])
    _refused(Path.cwd(), 3, [str(root)], f"{root / 'result.json'}: image 1 (id 8): file_name 'images/a.jpg' is "
             f"that of image 0 (id 7) too, with {field} {other!r}, not {first.get(field)!r}")


def test_a_result_json_linking_out_of_the_export_folder_is_not_read(repo, tmp_path):
    # was: the file the link leads to (any JSON of the machine) read into the version
    images = [{"id": 0, "file_name": "images/a.jpg", "width": 100, "height": 80}]
    elsewhere = _coco_folder(tmp_path / "elsewhere", images) / "result.json"
    root = tmp_path / "export"
    (root / "images").mkdir(parents=True)
    (root / "result.json").symlink_to(elsewhere)
    _refused(Path.cwd(), 3, [str(root)], f"{root / 'result.json'}: a link to {elsewhere}, outside the dataset folder")
    (root / "result.json").unlink()
    (root / "images" / "r.json").write_bytes(elsewhere.read_bytes())
    (root / "result.json").symlink_to("images/r.json")  # a link inside the folder is read
    assert read_source(root).tasks.column("task_key").to_pylist() == [stem_key(images[0]["file_name"])]


# -- image keys without Label Studio's URL prefix -------------------------------------------------------------


def test_stripping_the_prefix_never_makes_two_images_one(repo, tmp_path):
    # was: 'aaaaaaaa__335b37ac__a' stripped to '335b37ac__a', the key another image kept: "duplicate task"
    names = ["235b37ac__a.jpg", "335b37ac__a.jpg", "aaaaaaaa__335b37ac__a.jpg", "12345678__b.jpg"]
    images = [{"id": i, "file_name": f"images/{n}", "width": 100, "height": 80} for i, n in enumerate(names)]
    root = _coco_folder(tmp_path / "coco", images)
    keys = [stem_key(n) for n in names]
    back = read_train(root / "result.json", "coco", None, True)  # the column reader (no config)
    assert sorted(back.tasks.column("task_key").to_pylist()) == sorted(unprefixed_stems(keys))
    assert len(set(unprefixed_stems(keys))) == len(keys)
    assert "b" in unprefixed_stems(keys)  # a prefix that makes no clash is still stripped
    again = read_train(root / "result.json", "coco", LabelingConfig(back.config_text, validate=False), True)
    assert again.tasks.column("task_key").to_pylist() == back.tasks.column("task_key").to_pylist()


_HEX = st.sampled_from(["235b37ac__", "aaaaaaaa__", "12345678__", ""])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.lists(_HEX, max_size=3), st.sampled_from(["a", "b", "..", "_", "12345678__"])),
                max_size=8))
def test_unprefixed_stems_keep_distinct_keys_distinct(parts):
    keys = list(dict.fromkeys("".join(p) + s for p, s in parts))
    out = unprefixed_stems(keys)
    assert len(set(out)) == len(keys)
    prefix = re.compile(LS_URL_PREFIX)
    for k, o in zip(keys, out):
        assert o == k or (prefix.match(k) and o == k[10:])
