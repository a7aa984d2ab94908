"""``annover export --format hf`` of answers with relations (the corpus' pose task links its
keypoints with five): the note said "5 region(s) of controls the config does not have were left
out", as of a control missing from the config, where COCO, YOLO and VOC say what they are.
"""

from __future__ import annotations

from .conftest import shared_corpus
from .ls_fixtures import cli

CORPUS = shared_corpus("label-studio")


def test_hf_names_the_relations_it_leaves_out(repo, tmp_path):
    code, _, err = cli("snapshot", "--from", str(CORPUS / "sdk_keypoints_pose.json"), "--config",
                       str(CORPUS / "sdk_keypoints_pose.xml"), "-m", "pose")
    assert code == 0, err
    code, _, err = cli("export", "HEAD", "--format", "hf", "--out", str(tmp_path / "hf"))
    assert code == 0, err
    assert "note: 5 region(s) of type relation have no place in the Hugging Face columns and were left out" in err
    assert "controls the config does not have" not in err
    code, _, err = cli("export", "HEAD", "--format", "coco", "--out", str(tmp_path / "coco.json"))
    assert code == 0 and "note: 5 region(s) of type relation have no place in COCO and were left out" in err
