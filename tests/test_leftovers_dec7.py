"""Small things users hit, found by the audits of 7 December: each through the real CLI handler."""

from __future__ import annotations

import json
from pathlib import Path

import click

import annover
from annover.cli import main
from tests.test_cli import invoke


def _one_error_line(code: int, stdout: str, err: str, expected_code: int) -> str:
    """The one line of an error: ``expected_code``, nothing on stdout, one line on stderr."""
    assert code == expected_code and stdout == "" and len(err.splitlines()) == 1, (code, stdout, err)
    return err


def test_tag_in_a_repository_with_no_version_says_so_as_show_does(tmp_path, monkeypatch):
    annover.init(tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    said_by_show = _one_error_line(*invoke("show"), 7).removeprefix("Error: ").rstrip()
    what, how = said_by_show.split(" — ")
    for rev in ("v1", "HEAD~1", "main"):
        err = _one_error_line(*invoke("tag", "best", rev), 7)
        assert err.startswith(f"Error: {what}") and err.rstrip().endswith(how), err
        assert repr(rev) in err or rev == "HEAD~1", err
    assert _one_error_line(*invoke("tag", "best"), 7).removeprefix("Error: ").rstrip() == said_by_show
    # and every command that reads a named revision (was "unknown revision 'v1' — use a tag ...")
    for args in (("show", "v1"), ("log", "v1"), ("diff", "v1", "HEAD"), ("export", "v1", "--format", "csv",
                                                                          "--out", str(tmp_path / "x.csv"))):
        err = _one_error_line(*invoke(*args), 7)
        assert err.startswith(f"Error: {what}") and err.rstrip().endswith(how) and "'v1'" in err, (args, err)
    assert not (tmp_path / "x.csv").exists()


def _text_tasks(fields: tuple[str, ...]) -> list[dict]:
    """Label Studio tasks of text (data ``fields``, the last the text), a PER span each, as an NER export has."""
    texts = ["Ada Lovelace wrote the first program.", "Alan Turing broke the code."]
    out = []
    for i, text in enumerate(texts):
        name = " ".join(text.split()[:2])
        span = {"start": 0, "end": len(name), "text": name, "labels": ["PER"]}
        out.append({"id": i + 1, "data": {**{f: f"doc {i}" for f in fields[:-1]}, fields[-1]: text},
                    "annotations": [{"id": 10 + i, "result": [{"id": f"r{i}", "from_name": "label", "to_name": "text",
                                                              "type": "labels", "value": span}]}]})
    return out


def test_an_image_format_of_a_text_version_without_config_says_it_is_no_image_task(tmp_path, monkeypatch):
    """Without a labeling config, a text version's one data field was read as the image's file name
    ("the image size is not known"), and two fields as "no field the image is in": neither says why."""
    for fields in (("text",), ("doc_name", "text")):
        root = tmp_path / "_".join(fields)
        annover.init(root)
        monkeypatch.chdir(root)
        Path("ner.json").write_text(json.dumps(_text_tasks(fields)))
        assert invoke("snapshot", "--from", "ner.json", "-q")[0] == 0
        for fmt in ("voc", "yolo", "coco", "yolo-obb"):
            out = root / f"out_{fmt}"
            err = _one_error_line(*invoke("export", "--format", fmt, "--out", str(out)), 2)
            assert not out.exists() and "no image task" in err, err
            assert "conll (spans)" in err and "hf, csv" in err and "image size" not in err, err


def _coco_with_a_nameless_keypoint_category() -> dict:
    """A person category naming its keypoints, and a dog category naming none whose annotation holds as many
    (x, y, v) as the person names: read before, the dog's points took the person's names."""
    person = ["nose", "tail_base"]
    points = [10, 12, 2, 30, 14, 2]
    return {"images": [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48}],
            "categories": [{"id": 1, "name": "person", "keypoints": person, "skeleton": [[1, 2]]},
                           {"id": 2, "name": "dog"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [5, 5, 30, 20], "keypoints": points,
                             "num_keypoints": 2},
                            {"id": 2, "image_id": 1, "category_id": 2, "bbox": [8, 8, 30, 20], "keypoints": points,
                             "num_keypoints": 2}]}


def test_a_coco_category_naming_no_keypoints_does_not_take_another_categorys_names(tmp_path, monkeypatch):
    """COCO names keypoints per category (each keypoint category's ``keypoints``, the names of its annotations'
    (x, y, v) triples): another category's names are not the dog's, so its points are refused, not misnamed."""
    doc = _coco_with_a_nameless_keypoint_category()
    annover.init(tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    Path("kp.json").write_text(json.dumps(doc))
    err = _one_error_line(*invoke("snapshot", "--from", "kp.json"), 3)
    dog = doc["annotations"][1]
    assert f"annotation 1 (id {dog['id']})" in err and "names no keypoints" in err, err
    assert f"{len(dog['keypoints'])} values" in err and f"its {len(dog['keypoints']) // 3} keypoint names" in err, err
    doc["categories"][1]["keypoints"] = ["muzzle", "tail"]  # named: read, each category with its own names
    Path("kp.json").write_text(json.dumps(doc))
    code, _, err = invoke("snapshot", "--from", "kp.json", "-q")
    assert code == 0, err
    names = {json.loads(v)["keypointlabels"][0] for v, t in zip(*_annotation_columns("value", "type"))
             if t == "keypointlabels"}
    assert names == {*doc["categories"][0]["keypoints"], *doc["categories"][1]["keypoints"]}


def _annotation_columns(*names: str) -> list[list]:
    table = annover.Repo(".").load("HEAD", "annotations")
    return [table.column(n).to_pylist() for n in names]


CONFIG = """<View><Text name="text" value="$text"/>
<Choices name="sentiment" toName="text"><Choice value="positive"/><Choice value="negative"/></Choices>
<Labels name="entities" toName="text"><Label value="PER"/></Labels></View>"""


def test_flat_records_none_of_which_holds_a_label_are_snapshotted_with_a_warning(tmp_path, monkeypatch):
    """A JSON list of flat records with --config is read as JSON-MIN; where no record holds a field named
    as one of the config's controls, every record became an unlabeled task in silence."""
    annover.init(tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    Path("labeling.xml").write_text(CONFIG)
    records = [{"text": "good stuff", "mood": "positive"}, {"text": "bad stuff", "mood": "negative"}, {"text": "meh"}]
    Path("recs.json").write_text(json.dumps(records))
    code, stdout, err = invoke("snapshot", "--from", "recs.json", "--config", "labeling.xml", "-q")
    assert code == 0 and stdout.strip(), err
    said = [line for line in err.splitlines() if "none of the" in line]
    assert len(said) == 1, err
    assert f"none of the {len(records)} records holds a label of controls entities, sentiment" in said[0], err
    assert "read as unlabeled tasks" in said[0] and '("sentiment": "positive")' in said[0], err
    records[0]["sentiment"] = "positive"  # one record labeled: the others are the unlabeled ones, as meant
    Path("recs.json").write_text(json.dumps(records))
    code, _, err = invoke("snapshot", "--from", "recs.json", "-q")
    assert code == 0 and "none of the" not in err, err


def _json_commands_taking_a_revision() -> list[list[str]]:
    """Every command with --json whose first argument is a revision (REV, A), from the CLI itself."""
    ctx = click.Context(main)
    out = []
    for name in main.list_commands(ctx):
        cmd = main.get_command(ctx, name)
        if isinstance(cmd, click.Group) or "--json" not in {o for p in cmd.params for o in p.opts}:
            continue
        args = [p.name for p in cmd.params if isinstance(p, click.Argument)]
        if args and args[0] in ("rev", "a"):
            out.append([name])
        elif args[:2] == ["name", "rev"]:
            out.append([name, "best"])
    return out


def test_every_json_command_says_a_missing_revision_or_file_in_one_line_and_writes_no_stdout(two_rounds, tmp_path):
    """An error with --json is one line on stderr, with nothing half-written on stdout (a caller parses it)."""
    commands = _json_commands_taking_a_revision()
    assert len(commands) > 10, commands
    needs = {"export": ["--format", "csv", "--out", str(tmp_path / "o.csv")], "sample": ["--n", "2", "--no-record"]}
    for cmd in commands:
        err = _one_error_line(*invoke(*cmd, "nope", "--json", *needs.get(cmd[0], [])), 7)
        assert "unknown revision 'nope'" in err, (cmd, err)
    for args in (["snapshot", "--from", "missing.json"], ["config", "validate", "missing.xml"],
                 ["snapshot", "--from", "round2.json", "--config", "missing.xml"],
                 ["snapshot", "--from", "round2.json", "--predictions", "missing.json"]):
        err = _one_error_line(*invoke(*args, "--json"), 14)
        assert "missing." in err and "no such file" in err, (args, err)
