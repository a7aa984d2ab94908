"""The diff's words for Label Studio controls whose values are long or nested, on real exports of the shared
corpus: an LLM answer edited in a text area, a chat message, a region's ``origin``, an answer's attributes and
a pose's keypoint (``point moved`` said nothing of which of 17 joints).

Before, a value was shown as its first 40 characters, so a long answer trimmed at its end read
``text ["Einstein's theory of relativity exp... -> ["Einstein's theory of relativity exp...`` (both sides the
same), a chat message ``chatmessage {"content": ... -> {"content": ...``, and a region's or answer's
attributes only as "region attributes changed". The live test does what an annotator does in Label Studio
(edit one answer, then accept one pre-annotated region) between pulls: each pull's diff is that one row,
worded with what changed; a pull with nothing new makes no version.
"""

from __future__ import annotations

import json
import uuid

import pytest

import annover
from annover.diffing.words import attrs_words, keys_changed, value_change
from annover.model.canonical import canonical_json

from .conftest import shared_corpus
from .ls_fixtures import cli, ls_server, sdk_admin  # noqa: F401 - fixtures

CORPUS = shared_corpus("label-studio")
corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the shared corpus is not here ({CORPUS})")


def _results(name: str) -> list[dict]:
    tasks = json.loads((CORPUS / f"{name}.json").read_text(encoding="utf-8"))
    return [r for t in tasks for a in t["annotations"] for r in a["result"]]


@corpus
def test_a_long_text_trimmed_at_its_end_is_worded_where_it_differs():
    value = _results("llm_answer_textarea_preds")[0]["value"]
    text = value["text"][0]
    cut = text.index(". ") + 1  # the answer trimmed after its first sentence
    said = keys_changed(value, {**value, "text": [text[:cut]]})
    assert len(said) == 1 and said[0].startswith("text[0] "), said
    before, after = said[0].removeprefix("text[0] ").split(" -> ")
    assert before != after, said
    assert text[cut:cut + 10] in before and after.endswith(json.dumps(text[:cut])[-10:]), said


@corpus
def test_a_chat_message_is_worded_by_the_key_that_changed():
    value = _results("sdk_chat_messages")[2]["value"]
    old = value["chatmessage"]["content"]
    new = {**value, "chatmessage": {**value["chatmessage"], "content": old[:10]}}
    assert keys_changed(value, new) == [f"chatmessage.content {old} -> {old[:10]}"]


@corpus
def test_attributes_are_worded_by_the_keys_that_changed():
    tasks = json.loads((CORPUS / "fe_timeseries.json").read_text(encoding="utf-8"))
    readonly = tasks[0]["annotations"][0]["readonly"]  # Label Studio Community keeps no 'readonly'
    assert attrs_words("answer", {"readonly": readonly}, None) == f"answer attributes changed: readonly " \
        f"{json.dumps(readonly)} -> null"
    assert attrs_words("task", None, None) == "task attributes changed"


@corpus
def test_a_moved_keypoint_is_named_by_its_joint():
    pose = [r for r in _results("sdk_keypoints_pose") if r["type"] == "keypointlabels"]
    for r in pose[:2]:
        moved = {**r["value"], "x": r["value"]["x"] + 1}
        said = value_change(canonical_json(r["value"]), canonical_json(moved)).geometry
        assert said.startswith(f"{r['value']['keypointlabels'][0]} moved "), said
    relabeled = {**pose[0]["value"], "x": pose[0]["value"]["x"] + 1, "keypointlabels": ["?"]}
    said = value_change(canonical_json(pose[0]["value"]), canonical_json(relabeled)).geometry
    assert said.startswith("point moved "), said  # the relabel words name both labels


@pytest.mark.labelstudio
@corpus
def test_one_edit_in_label_studio_is_one_worded_row(ls_server, sdk_admin, repo):  # noqa: F811
    name = "llm_answer_textarea_preds"
    xml, title = str(CORPUS / f"{name}.xml"), f"t-{uuid.uuid4().hex[:8]}-{name}"
    for args in (("snapshot", "--from", str(CORPUS / f"{name}.json"), "--config", xml, "-m", "export"),
                 ("dataset", "create", title, "--config", xml)):
        code, out, err = cli(*args)
        assert code == 0, err
    pid = int(out.split()[0])  # "<project id> <title> ..."
    try:
        for args in (("dataset", "push", title, "--from", "v1", "--annotations", "-q"),
                     ("snapshot", "--label-studio", title, "-m", "pushed")):
            code, _, err = cli(*args)
            assert code == 0, err
        tasks = sorted((t.model_dump() for t in sdk_admin.tasks.list(project=pid, fields="all")),
                       key=lambda t: t["id"])
        first, second = (t["annotations"][0] for t in tasks[:2])
        # an annotator trims an answer...
        region = first["result"][0]
        text = region["value"]["text"][0]
        cut = text.index(". ") + 1
        edited = {**region, "value": {**region["value"], "text": [text[:cut]]}}
        rows = _edit_and_pull(sdk_admin, title, first, [edited], "v2", "v3")
        assert rows["kinds"] == [["value"]] and rows["region_key_a"] == rows["region_key_b"], rows
        before, after = rows["description"][0].removeprefix("text[0] ").split(" -> ")
        assert before != after and text[cut:cut + 10] in before, rows
        # ... and accepts another task's pre-annotated answer as it is (Label Studio marks it changed)
        region = second["result"][0]
        assert region["origin"] == "prediction", region
        rows = _edit_and_pull(sdk_admin, title, second, [{**region, "origin": "prediction-changed"}], "v3", "v4")
        assert rows["kinds"] == [["region"]], rows
        assert rows["description"] == ["region attributes changed: origin prediction -> prediction-changed"], rows
        code, out, err = cli("snapshot", "--label-studio", title, "-m", "again")
        assert code == 0 and "no new version" in out + err, out + err
    finally:
        sdk_admin.projects.delete(id=pid)


def _edit_and_pull(sdk, title: str, answer: dict, result: list[dict], a: str, b: str) -> dict:
    """Save ``result`` as ``answer``'s in Label Studio, pull it as version ``b``: the diff's rows from ``a``."""
    sdk.annotations.update(id=answer["id"], result=result)
    code, _, err = cli("snapshot", "--label-studio", title, "-m", "edited")
    assert code == 0, err
    d = annover.diff(a, b)
    assert d.summary["annotations"]["changed"] == 1 and d.summary["tasks"]["data_changed"] == 0, d.summary
    return d.rows.to_pydict()
