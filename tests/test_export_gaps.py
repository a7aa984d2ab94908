"""Training-format exports a trainer or scorer reads: CoNLL of labels and of predictions with the
same tokens (seqeval scores one against the other), YOLO pose's ``flip_idx``, crowd regions in
YOLO and VOC. Real exports from the shared corpus, read in place."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from annover.formats import yolo
from annover.formats.label_studio import from_ls_tasks
from annover.formats.read import read_source
from annover.formats.training import read_train, render_train
from annover.model.config import LabelingConfig

from .conftest import shared_corpus
from .test_formats_train import _conll  # one reader of CoNLL files for the tests
from .test_cli import invoke

FORMATS = shared_corpus("formats")
LS = shared_corpus("label-studio")
pytestmark = pytest.mark.skipif(not FORMATS.is_dir() or not LS.is_dir(), reason="the shared corpus is not here")

#: Ultralytics' coco8-pose.yaml flip_idx for COCO's 17 person keypoints
COCO_FLIP = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
NER = LS / "ner_predictions_nerine.json"
NER_MODEL = "llm-preannotation-v1-cleaned"  # the model version of the export's embedded predictions


def _tables(t) -> dict:
    return {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions}


# ---------------------------------------------------------------------------
# CoNLL: labels and predictions tokenised alike


def _cut_inside(tmp_path: Path) -> Path:
    """Predictions of a second model on the corpus's NER tasks: each labeled span less its last
    character, so each ends inside a word where the label does not."""
    out = []
    for task in json.loads(NER.read_text()):
        text = task["data"]["text"]
        result = []
        for r in task["annotations"][0]["result"]:
            v = r["value"]
            if v["end"] - v["start"] > 1:
                end = v["end"] - 1
                result.append({**r, "value": {**v, "end": end, "text": text[v["start"]:end]}})
        out.append({"task_key": str(task["id"]), "model_version": "cut-inside", "score": 0.5, "result": result})
    p = tmp_path / "cut_inside.json"
    p.write_text(json.dumps(out))
    return p


def test_conll_of_labels_and_of_predictions_have_the_same_tokens_and_seqeval_scores_them(repo, tmp_path):
    """The corpus's NER export (manual spans; the LLM's spans embedded as its predictions, cut
    otherwise) and a second model cutting inside words: the three CoNLL files have the same tokens,
    sentence by sentence, and seqeval's report runs on them. Before, each file cut its tokens at
    its own spans' edges only (the LLM's file had 1-9 tokens fewer per sentence: seqeval refused it)."""
    from seqeval.metrics import classification_report, f1_score

    code, _, err = invoke("snapshot", "--from", str(NER), "--config", str(NER.with_suffix(".xml")), "--key", "id",
                          "--predictions", str(_cut_inside(tmp_path)), "-m", "ner")
    assert code == 0, err
    files = {}
    for name, extra in (("labels", []), ("llm", ["--predictions", NER_MODEL]), ("cut", ["--predictions", "cut-inside"])):
        files[name] = tmp_path / f"{name}.conll"
        code, _, err = invoke("export", "v1", "--format", "conll", "--out", str(files[name]), *extra)
        assert code == 0, err
    read = {k: _conll(p) for k, p in files.items()}
    labels = read["labels"]
    assert len(labels) == 5
    for name in ("llm", "cut"):
        assert [s[0] for s in read[name]] == [s[0] for s in labels], name  # the same tokens, line for line
        report = classification_report([s[1] for s in labels], [s[1] for s in read[name]], output_dict=True)
        assert "PER" in report
    assert f1_score([s[1] for s in labels], [s[1] for s in read["cut"]]) < 0.05  # spans cut short: (almost) no match
    assert 0 < f1_score([s[1] for s in labels], [s[1] for s in read["llm"]]) < 1


def test_hf_tokens_are_the_conll_exports_for_labels_and_predictions(repo, tmp_path):
    """The Hugging Face export's ``tokens`` are the CoNLL export's (its docs say so): each cut at the
    version's span edges, so a model's HF rows line up with the labels' rows token for token. Before,
    HF cut at the written answer's own edges only."""
    code, _, err = invoke("snapshot", "--from", str(NER), "--config", str(NER.with_suffix(".xml")), "--key", "id",
                          "--predictions", str(_cut_inside(tmp_path)), "-m", "ner", "-q")
    assert code == 0, err
    code, _, err = invoke("export", "v1", "--format", "conll", "--out", str(tmp_path / "labels.conll"))
    assert code == 0, err
    conll_tokens = [s[0] for s in _conll(tmp_path / "labels.conll")]
    import datasets

    for i, model in enumerate((None, NER_MODEL, "cut-inside")):
        out = tmp_path / f"hf-{i}"
        code, _, err = invoke("export", "v1", "--format", "hf", "--out", str(out), *(["--predictions", model] if model else []))
        assert code == 0, err
        rows = sorted(datasets.load_from_disk(str(out)), key=lambda r: int(r["task_key"]))
        assert [r["tokens"] for r in rows] == conll_tokens, model


def test_conll_tokens_cut_at_every_answers_span_edges():
    """Two annotators cut 'Parisian' differently: the answer of each, exported, has the tokens of both."""
    def ann(who: str, end: int) -> dict:
        return {"completed_by": {"email": who}, "result": [
            {"from_name": "label", "to_name": "text", "type": "labels",
             "value": {"start": 6, "end": end, "text": "Parisian"[:end - 6], "labels": ["LOC"]}}]}
    tasks = [{"id": 1, "data": {"text": "Visit Parisian cafes."},
              "annotations": [ann("a@example.com", 11), ann("b@example.com", 14)]}]
    t = from_ls_tasks(tasks, "mem")
    out = {who: render_train("conll", _tables(t), None, resolve=f"annotator:{who}").data.decode().splitlines()[2:]
           for who in ("a@example.com", "b@example.com")}
    tokens = [line.split()[0] for line in out["a@example.com"] if line]
    assert tokens == ["Visit", "Paris", "ian", "cafes."]
    assert [line.split()[0] for line in out["b@example.com"] if line] == tokens
    assert out["a@example.com"][1:3] == ["Paris _ _ B-LOC", "ian _ _ O"]
    assert out["b@example.com"][1:3] == ["Paris _ _ B-LOC", "ian _ _ I-LOC"]


# ---------------------------------------------------------------------------
# YOLO pose: flip_idx


def _data_yaml(files: dict[str, bytes]) -> dict:
    return yaml.safe_load(files["data.yaml"].decode())


def _check_flip(doc: dict) -> None:
    """Ultralytics' schema for flip_idx: a list of kpt_shape[0] indices (its augment raises otherwise),
    a permutation that undoes itself, pairing names that differ in their side."""
    flip, names = doc["flip_idx"], doc["kpt_names"]
    assert len(flip) == doc["kpt_shape"][0] and sorted(flip) == list(range(len(flip)))
    assert all(flip[flip[i]] == i for i in range(len(flip)))
    for i, j in enumerate(flip):
        if i != j:
            assert names[i].replace("left", "right") == names[j] or names[i].replace("right", "left") == names[j]


def test_yolo_pose_of_coco_person_keypoints_has_ultralytics_flip_idx():
    t = read_train(FORMATS / "coco_person_keypoints_mmpose.json", "coco", None, True)
    doc = _data_yaml(render_train("yolo", _tables(t), t.config_text).files)
    assert doc["task"] == "pose" and doc["kpt_shape"] == [17, 3]
    assert doc["flip_idx"] == COCO_FLIP
    _check_flip(doc)


def test_yolo_pose_of_label_studio_keypoints_has_flip_idx():
    cfg = LabelingConfig((LS / "sdk_keypoints_pose.xml").read_text())
    t = read_source(LS / "sdk_keypoints_pose.json", config=cfg)
    r = render_train("yolo", _tables(t), cfg.text)
    doc = _data_yaml(r.files)
    assert doc["flip_idx"] == COCO_FLIP
    _check_flip(doc)
    assert not any("flip_idx" in n for n in r.notes)


def test_yolo_pose_without_sided_names_has_no_flip_idx_and_says_so():
    t = read_train(FORMATS / "yolo_pose_datumaro", "yolo", None, True)
    r = render_train("yolo", _tables(t), t.config_text)
    doc = _data_yaml(r.files)
    assert doc["kpt_names"] == ["kp_0", "kp_1", "kp_2"] and "flip_idx" not in doc
    said = [n for n in r.notes if "no flip_idx" in n]
    assert len(said) == 1 and "'kp_0'" in said[0] and "without left-right flips" in said[0]


@pytest.mark.parametrize("names, flip, lone", [
    (["nose", "LEye", "REye", "LShoulder", "RShoulder"], [0, 2, 1, 4, 3], []),  # OpenPose's
    (["L_x", "R_x", "x_left", "X_RIGHT", "tail", "leftEye", "rightEye"], [1, 0, 3, 2, 4, 6, 5], []),
    (["kp_0", "kp_1"], None, []),
    (["left_eye", "right_eye", "left_hand"], None, ["left_hand"]),  # a side without its partner
    (["left_eye", "l_eye", "right_eye"], None, ["left_eye", "l_eye", "right_eye"]),  # two lefts for one right
])
def test_flip_idx_pairs_names_by_side(names, flip, lone):
    assert yolo.flip_idx(names) == (flip, lone)


# ---------------------------------------------------------------------------
# crowd regions in YOLO and VOC


def _voc_objects(files: dict[str, bytes]) -> list[tuple[str, int]]:
    out = []
    for rel, data in sorted(files.items()):
        if rel.endswith(".xml"):
            out += [(o.findtext("name"), int(o.findtext("difficult"))) for o in ET.fromstring(data).iter("object")]
    return out


def test_a_coco_crowd_region_is_difficult_in_voc_and_left_out_of_yolo(tmp_path):
    """datumaro's fixture: a polygon and an RLE crowd mask (iscrowd 1) on one image."""
    t = read_train(FORMATS / "coco_instances_rle_datumaro.json", "coco", None, True)
    r = render_train("voc", _tables(t), t.config_text)
    assert _voc_objects(r.files) == [("a", 0), ("b", 1)]
    assert any(n.startswith("1 crowd region(s)") and "difficult" in n for n in r.notes)
    assert not any("written as ordinary" in n for n in r.notes)
    for rel, data in r.files.items():  # read back: the crowd region is difficult in the version
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    back = read_train(tmp_path, "voc", None, True)
    assert sorted(json.loads(x).get("voc", {}).get("difficult", 0) for x in back.annotations.column("region").to_pylist()) \
        == [0, 1]
    y = render_train("yolo", _tables(t), t.config_text)
    assert [line.split()[0] for line in y.files["labels/b.txt"].decode().splitlines()] == ["0"]
    assert any(n.startswith("1 crowd region(s)") and "left out" in n for n in y.notes)


def test_crowd_boxes_are_left_out_of_yolo_and_difficult_in_voc(tmp_path):
    """Roboflow's chess export with some boxes marked crowd (one image wholly): YOLO leaves them out
    (an image of crowds only gets an empty label file), VOC marks them difficult."""
    def empty_label_files(files: dict[str, bytes]) -> list[str]:
        return sorted(k for k, v in files.items() if k.startswith("labels/") and not v.strip())

    plain = read_train(FORMATS / "coco_chess_roboflow.json", "coco", None, True)
    before = empty_label_files(render_train("yolo", _tables(plain), plain.config_text).files)
    doc = json.loads((FORMATS / "coco_chess_roboflow.json").read_text())
    crowd = 0
    for a in doc["annotations"]:  # image 0: its first box of 14; image 2: all its 27 boxes
        if a["image_id"] == 2 or (a["image_id"] == 0 and not any(b.get("iscrowd") for b in doc["annotations"]
                                                                  if b["image_id"] == 0)):
            a["iscrowd"] = 1
            crowd += 1
    assert crowd == 28
    src = tmp_path / "chess_crowd.json"
    src.write_text(json.dumps(doc))
    t = read_train(src, "coco", None, True)
    y = render_train("yolo", _tables(t), t.config_text)
    lines = {k: v.decode().splitlines() for k, v in y.files.items() if k.startswith("labels/")}
    assert sum(map(len, lines.values())) == len(doc["annotations"]) - crowd
    emptied = sorted(set(empty_label_files(y.files)) - set(before))
    assert len(emptied) == 1 and doc["images"][2]["file_name"].rsplit(".", 1)[0] in emptied[0]
    said = [n for n in y.notes if "crowd" in n]
    assert len(said) == 1 and said[0].startswith(f"{crowd} crowd region(s)") and "1 image(s) held only crowd" in said[0]
    v = render_train("voc", _tables(t), t.config_text)
    objs = _voc_objects(v.files)
    assert len(objs) == len(doc["annotations"]) and sum(d for _, d in objs) == crowd
