"""Hostile and careless input files through the places where a file's own text lands: COCO's fields kept
as JSON in the generated labeling config's attributes, YOLO data.yaml's keys and names written back,
Pascal VOC's kept elements, CoNLL sentences, ``--resolve consensus``. Each expected value is computed
here from the input file (json, PyYAML, ElementTree), never taken from annover's own output."""

from __future__ import annotations

import functools
import json
import re
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from label_studio_sdk.label_interface import LabelInterface

from annover.formats import coco, conll, resolve
from annover.formats.label_studio import from_ls_tasks
from annover.formats.train import to_tables
from annover.formats.training import read_train, render_train
from annover.labelstudio import Datasets
from annover.labelstudio import tasks as ls_tasks
from annover.model.config import LabelingConfig

from .ls_fixtures import ls, ls_server, png_bytes, project_factory, sdk_admin  # noqa: F401 - fixtures
from .test_cli import invoke

#: what a hostile string is made of: XML's specials, a CDATA end, controls XML 1.0 has no place for
#: (JSON escapes them), DEL and C1, line breaks YAML folds, a byte order mark, non-BMP characters
_HOSTILE = ['"', "'", "&", "<", ">", "]]>", "&amp;", "\\u0000", "\x00", "\x01", "\x1f", "\t", "\n", "\r", "\x7f",
            "\x85", "\u2028", "\ufeff", "\ufffe", "\U0001F600", "\U0010FFFF", " ", "a", "é"]
_TEXT = st.lists(st.sampled_from(_HOSTILE), max_size=6).map("".join)
#: what XML 1.0 cannot hold, not even as a character reference (the W3C's Char production)
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
#: a label's name: what XML can hold (a name it cannot is exit 3: test_a_label_xml_cannot_hold_is_exit_3)
_NAME = _TEXT.filter(lambda s: s.strip() != "" and not _NOT_XML.search(s))
_VALUE = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), _TEXT),
                      lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_TEXT, inner, max_size=3)),
                      max_leaves=6)


def _tables(t) -> dict:
    return {"tasks": t.tasks, "annotations": t.annotations, "predictions": t.predictions}


def _coco_doc(names: list[str], info, licenses, fields: list[dict]) -> dict:
    cats = [{"id": i + 1, "name": n, **f} for i, (n, f) in enumerate(zip(names, fields))]
    return {"info": info, "licenses": licenses, "categories": cats,
            "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 80}],
            "annotations": [{"id": i + 1, "image_id": 1, "category_id": c["id"], "bbox": [1, 2, 3, 4]}
                            for i, c in enumerate(cats)]}


def _both_readers(src: Path):
    """(tables, config text) of the COCO file ``src`` by the column-at-a-time reader and the general one."""
    fast = read_train(src, "coco", None, True)
    yield fast, fast.config_text
    yield to_tables(coco.read(src), str(src), "coco", None, True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(_NAME, min_size=1, max_size=3, unique=True), info=_VALUE, licenses=_VALUE,
       fields=st.lists(st.dictionaries(st.sampled_from(["supercategory", "color", "metadata", "skeleton"]),
                                       _VALUE, max_size=3), min_size=3, max_size=3))
def test_property_hostile_coco_strings_come_back_through_the_config(tmp_path, names, info, licenses, fields):
    """COCO file -> the tables and generated config -> COCO: the same info, licenses, category names and
    fields, whatever quotes, ``&``, ``<``, ``]]>``, controls or non-BMP characters they hold; the config
    stays XML that annover and label-studio-sdk's LabelInterface accept, with the labels as named."""
    doc = _coco_doc(names, info, licenses, fields)
    src = tmp_path / "in.json"
    src.write_text(json.dumps(doc))
    for t, text in _both_readers(src):
        LabelingConfig(text)  # validated: XML, and Label Studio's rules
        assert [getattr(lb, "value", lb) for lb in LabelInterface(text).get_control("label").labels] == names
        out = json.loads(render_train("coco", _tables(t), text).data)
        assert (out["info"], out["licenses"]) == (info, licenses)
        assert [{k: v for k, v in c.items() if k != "id"} for c in out["categories"]] == \
               [{"name": n, "supercategory": "", **f} for n, f in zip(names, fields)]


def _label_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """A file of each format naming a label with a control character XML cannot hold: the file, and what
    the error names (the record and field)."""
    out = {}
    doc = _coco_doc(["ok", "a\x01b"], {}, [], [{}, {}])
    (tmp_path / "cat.json").write_text(json.dumps(doc))
    out["coco category"] = (tmp_path / "cat.json", "category 1 (id 2): name is 'a\\x01b'")
    doc = _coco_doc(["person"], {}, [], [{"keypoints": ["nose", "l\ufffeeye"]}])
    doc["annotations"][0]["keypoints"] = [2, 3, 2, 3, 4, 2]  # its keypoints are the config's <KeyPointLabels>
    (tmp_path / "kp.json").write_text(json.dumps(doc))
    out["coco keypoint"] = (tmp_path / "kp.json", "category 'person': keypoint 1 is 'l\\ufffeeye'")
    y = tmp_path / "yolo"
    (y / "labels").mkdir(parents=True)
    (y / "data.yaml").write_text('names: ["ok", "b\\x02d"]\n')  # a YAML escape: the name holds U+0002
    (y / "sizes.json").write_text(json.dumps({"images/a.jpg": {"width": 10, "height": 10}}))
    (y / "labels" / "a.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    out["yolo"] = (y, "data.yaml: names: class 1 is 'b\\x02d'")
    (tmp_path / "t.conll").write_text("Paris B-LO\x1bC\nis O\n")
    out["conll"] = (tmp_path / "t.conll", "t.conll: line 1: the label of tag 'B-LO\\x1bC' is 'LO\\x1bC'")
    return out


@pytest.mark.parametrize("which", ["coco category", "coco keypoint", "yolo", "conll"])
def test_a_label_xml_cannot_hold_is_exit_3_naming_the_record(repo, tmp_path, which):
    """A category, keypoint, class or entity tag named with a C0 control (or U+FFFE) cannot be a
    ``<Label value=...>`` in any XML: it was exit 5, "the config generated ...: not valid XML", naming
    neither the record nor the field, from a command given no config at all. Exit 3, one line, nothing written."""
    src, said = _label_files(tmp_path)[which]
    code, _, before = invoke("log", "--json")
    code, out, err = invoke("snapshot", "--from", str(src), "-m", "hostile")
    assert code == 3, err
    assert said in err and "XML cannot hold" in err and len(err.strip().splitlines()) == 1
    assert invoke("log", "--json")[2] == before  # no version


def test_keypoint_names_no_annotation_uses_are_kept_whatever_they_hold(tmp_path):
    """Keypoint names the file's annotations do not use are no labels of the config, only a category's
    field kept as JSON: a control character in them is no error, and they come back."""
    doc = _coco_doc(["person"], {}, [], [{"keypoints": ["nose", "l\x01eye"], "skeleton": [[1, 2]]}])
    src = tmp_path / "kp.json"
    src.write_text(json.dumps(doc))
    for t, text in _both_readers(src):
        LabelingConfig(text)
        back = json.loads(render_train("coco", _tables(t), text).data)["categories"]
        assert [(c["keypoints"], c["skeleton"]) for c in back] == [(["nose", "l\x01eye"], [[1, 2]])]


@pytest.mark.parametrize("where", ["info", "category"])
def test_coco_fields_longer_than_an_xml_attribute_are_exit_3(repo, tmp_path, where):
    """Ten million bytes of a file's fields (2,000,000 ``&``, each ``&amp;`` in the config) were a config
    that label-studio-sdk's parser refuses ("Buffer size limit exceeded"): exit 5, "not a valid labeling
    config", from a snapshot given none. Exit 3 naming the file and the record, nothing written."""
    big = "&" * 2_000_000
    doc = _coco_doc(["c"], {"description": big} if where == "info" else {}, [],
                    [{"supercategory": big} if where == "category" else {}])
    src = tmp_path / "long.json"
    src.write_text(json.dumps(doc))
    code, _, before = invoke("log", "--json")
    code, _, err = invoke("snapshot", "--from", str(src), "-m", "long")
    assert code == 3, err[:300]
    said = "long.json: its fields info" if where == "info" else "long.json: category 'c': its fields supercategory"
    assert said in err and len(err.strip().splitlines()) == 1, err[:300]
    assert invoke("log", "--json")[2] == before


def test_a_lone_surrogate_in_a_coco_field_is_exit_3(repo, tmp_path):
    """A lone surrogate (JSON's ``\\ud800``) is no text any file or XML holds: refused on reading."""
    src = tmp_path / "s.json"
    src.write_text(json.dumps(_coco_doc(["a"], {"description": "x\ud800"}, [], [{}])))
    code, _, err = invoke("snapshot", "--from", str(src), "-m", "surrogate")
    assert code == 3 and "info" in err and "lone surrogate" in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.labelstudio
def test_hostile_coco_config_is_kept_by_label_studio(ls_server, sdk_admin, tmp_path):  # noqa: F811
    """The live server takes the config generated for a COCO file of hostile strings (and a 100,000
    character value) as a project's, and gives back attributes that read as the same JSON."""
    hostile = "".join(_HOSTILE) + "x" * 100_000
    names = ["c&t \"q\" <x> ]]>", "\U0001F600 e\u0301\t\n", "\x7f\x85\ufeff"]
    doc = _coco_doc(names, {"description": hostile}, [{"id": 1, "name": hostile}],
                    [{"supercategory": hostile, "metadata": {hostile: [hostile]}}, {}, {"color": "#&<"}])
    src = tmp_path / "in.json"
    src.write_text(json.dumps(doc))
    text = read_train(src, "coco", None, True).config_text
    p = sdk_admin.projects.create(title=f"t-{uuid.uuid4().hex[:8]}-hostile", label_config=text)
    try:
        back = LabelingConfig(sdk_admin.projects.get(id=p.id).label_config)
    finally:
        sdk_admin.projects.delete(id=p.id)
    mine = LabelingConfig(text)
    assert json.loads(back.view_attribute("coco")) == {"info": doc["info"], "licenses": doc["licenses"]}
    tags = ("RectangleLabels",)
    assert {n: json.loads(v) for n, v in back.label_attributes("coco", tags).items()} == \
           {c["name"]: {k: v for k, v in c.items() if k not in ("id", "name")} for c in doc["categories"] if len(c) > 2}
    assert back.label_attributes("coco", tags) == mine.label_attributes("coco", tags)


# ---------------------------------------------------------------------------
# YOLO data.yaml


#: names and keys a YAML reader reads as something else when written bare
_YAML_WORDS = ["null", "Null", "~", "yes", "No", "on", "OFF", "True", "false", "y", "n", "1e3", "0x10", "0o7",
               ".inf", "2024-01-01", "- x", "{", "[a]", "#", "a: b", "a #b", " lead", "trail ", "a\nb", "'q'", '"dq"',
               "!tag", "&anc", "*al", "%p", "@", "`", "?", "|", ">", "<<", "=", "a\x85b", "a\u2028b", "\ufeffbom",
               "\U0001F600", "a\\b", "\x7f"]


def _yolo_folder(root: Path, names: list[str], keys: list[str]) -> str:
    (root / "labels").mkdir(parents=True)
    doc = {"names": dict(enumerate(names)), **{k: f"v {k}" for k in keys}}
    text = yaml.safe_dump(doc)  # quoted where YAML needs it: each key a string
    (root / "data.yaml").write_text(text)
    (root / "sizes.json").write_text(json.dumps({"images/a.jpg": {"width": 10, "height": 10}}))
    (root / "labels" / "a.txt").write_text("".join(f"{i} 0.5 0.5 0.1 0.1\n" for i in range(len(names))))
    return text


@pytest.mark.parametrize("loader", ["SafeLoader", "CSafeLoader"])
def test_yaml_special_names_and_keys_read_back_as_the_same_strings(tmp_path, loader):
    """data.yaml's names and other keys that YAML reads as null, booleans, numbers, a list, a comment...
    when bare read back as the same strings with PyYAML's safe loader (Ultralytics' way) and libyaml's.
    Keys ``null``, ``yes``, ``on``, ``OFF``, ``True``... were written bare and came back as None and booleans."""
    if not hasattr(yaml, loader):
        pytest.skip(f"PyYAML without {loader}")
    names = [n for n in _YAML_WORDS if n.strip()]
    keys = [k for k in _YAML_WORDS if k not in ("<<",)]  # a merge key: PyYAML merges it into the map
    src = yaml.safe_load(_yolo_folder(tmp_path / "y", names, keys))
    t = read_train(tmp_path / "y", "yolo", None, True)
    out = render_train("yolo", _tables(t), t.config_text).files["data.yaml"].decode()
    back = yaml.load(out, Loader=getattr(yaml, loader))
    assert [back["names"][i] for i in range(len(names))] == [src["names"][i] for i in range(len(names))]
    assert {k: back.get(k) for k in keys} == {k: src[k] for k in keys}


# ---------------------------------------------------------------------------
# Pascal VOC


def test_voc_namespaced_action_and_hostile_text_export_as_valid_xml(tmp_path):
    """A VOC file's kept elements with escaped specials, a CDATA end, non-BMP characters, and an action
    in a namespace (``<x:jump>``): the export was no XML (``<{urn:x}jump>``), now every file parses and
    gives back the text and the action."""
    ann = tmp_path / "voc" / "Annotations"
    ann.mkdir(parents=True)
    (ann / "a.xml").write_text(
        '<annotation xmlns:x="urn:x"><folder>f &amp; &lt;g&gt; ]]&gt; "q" \U0001F600</folder><filename>a.jpg</filename>'
        '<path>/abs/../x &amp; y</path><source><database>d&amp;b</database></source>'
        "<size><width>100</width><height>80</height><depth>3</depth></size><object><name>c&amp;t &lt;x&gt;</name>"
        "<pose>p&amp;q</pose><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>10</xmax><ymax>20</ymax></bndbox>"
        "<actions><x:jump>1</x:jump><run>0</run></actions></object></annotation>")
    src = ET.parse(ann / "a.xml").getroot()
    t = read_train(tmp_path / "voc", "voc", None, True)
    out = ET.fromstring(render_train("voc", _tables(t), t.config_text).files["Annotations/a.xml"])
    for path in ("folder", "path", "source/database", "object/name", "object/pose"):
        assert out.findtext(path) == src.findtext(path), path
    assert {a.tag: a.text for a in out.find("object/actions")} == \
           {a.tag.rsplit("}", 1)[-1]: a.text for a in src.find("object/actions")}


@pytest.mark.parametrize("decl", [
    '<!DOCTYPE a [<!ENTITY l "lol"><!ENTITY l2 "&l;&l;&l;&l;&l;&l;&l;&l;"><!ENTITY l3 "&l2;&l2;&l2;&l2;&l2;">]>',
    '<!DOCTYPE annotation [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    '<!DOCTYPE annotation SYSTEM "http://127.0.0.1:9/x.dtd">'], ids=["laughs", "external-entity", "external-dtd"])
def test_voc_dtd_and_entities_stay_refused_in_one_line(repo, tmp_path, decl):
    ann = tmp_path / "voc" / "Annotations"
    ann.mkdir(parents=True)
    (ann / "a.xml").write_text(f'<?xml version="1.0"?>\n{decl}\n<annotation><filename>a.jpg</filename>'
                               "<size><width>10</width><height>10</height></size></annotation>\n")
    code, _, err = invoke("snapshot", "--from", str(tmp_path / "voc"), "-m", "dtd")
    assert code == 3 and "a.xml: refused" in err and len(err.strip().splitlines()) == 1, err


# ---------------------------------------------------------------------------
# paths a file names: an export with --images writes nothing outside --out


@pytest.mark.parametrize("name", ["a/../../esc.png", "..\\..\\esc.png", "/abs/esc.png", "C:\\x\\esc.png"])
def test_image_names_that_leave_the_folder_write_nothing_outside_it(repo, tmp_path, name):
    """A COCO file_name that climbs out (``../``, a Windows one, absolute) and the exports with the images:
    each either writes inside ``--out`` or is refused in one line (exit 2, as the README's --images section
    says) with nothing written; no file appears anywhere else."""
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    (imgs / "esc.png").write_bytes(png_bytes((1, 2, 3)))
    doc = _coco_doc(["c"], {}, [], [{}])
    doc["images"][0].update(file_name=name, width=2, height=2)
    doc["annotations"][0]["bbox"] = [0, 0, 1, 1]
    (tmp_path / "in.json").write_text(json.dumps(doc))
    assert invoke("snapshot", "--from", str(tmp_path / "in.json"), "-m", "paths")[0] == 0
    before = {p for p in tmp_path.parent.rglob("*") if "esc" in p.name}
    for fmt in ("coco", "yolo", "voc"):
        out = tmp_path / "out" / fmt
        code, _, err = invoke("export", "HEAD", "--format", fmt, "--out", str(out), "--images", str(imgs))
        assert code in (0, 2), err
        assert code == 0 or (len(err.strip().splitlines()) == 1 and not out.exists()), err
        now = {p for p in tmp_path.parent.rglob("*") if "esc" in p.name}
        assert all(out in p.parents for p in now - before), (fmt, now - before)
        before = now


# ---------------------------------------------------------------------------
# CoNLL: a long sentence


class _Cuts(set):
    """A set of offsets that counts how often it is walked."""

    walks = 0

    def __iter__(self):
        type(self).walks += 1
        return super().__iter__()


def test_conll_tokens_walk_the_cuts_once_not_once_a_token():
    """A sentence of a million tokens, a span on every tenth: cutting each whitespace token at the
    span edges walked every edge for every token (2e11 steps; the export of 40,000 tokens took 11 s
    and 1,000,000 would take hours). Now the edges are sorted once."""
    text = " ".join(f"w{i}" for i in range(2000))
    starts = [m.start() for m in conll._WS.finditer(text)]
    cuts = _Cuts(starts[::10])
    _Cuts.walks = 0
    got = conll.tokens(text, cuts)
    assert _Cuts.walks <= 2
    assert got == [(m.start(), m.end()) for m in conll._WS.finditer(text)]


@settings(max_examples=40, deadline=None)
@given(words=st.lists(st.text("ab ", min_size=1, max_size=4), min_size=1, max_size=12),
       cuts=st.sets(st.integers(0, 60), max_size=12),
       spans=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 8)), max_size=5))
def test_property_conll_tokens_and_spans_as_a_plain_scan_gives_them(words, cuts, spans):
    """The bisecting :func:`conll.tokens` and span-to-tokens step give what a scan of every token gives."""
    text = " ".join(words)
    want = []
    for m in conll._WS.finditer(text):
        s, e = m.start(), m.end()
        for c in sorted(c for c in cuts if s < c < e):
            want.append((s, c))
            s = c
        want.append((s, e))
    assert conll.tokens(text, set(cuts)) == want
    chosen = [(s, s + n, "X") for s, n in spans]
    plain = [(ins[0], ins[-1] + 1, lb) for s, e, lb in chosen
             if (ins := [i for i, (ts, te) in enumerate(want) if s <= ts and te <= e])]
    assert conll._token_spans(chosen, want) == plain


def test_conll_sentence_of_30000_tokens_round_trips(tmp_path):
    """One sentence of 30,000 tokens (a span on every tenth): the export gives back each line."""
    lines = [f"w{i} NN B-NP {'B-PER' if i % 10 == 0 else 'O'}" for i in range(30_000)]
    src = tmp_path / "big.conll"
    src.write_text("\n".join(lines) + "\n")
    t = read_train(src, "conll", None, True)
    out = render_train("conll", _tables(t), t.config_text).data.decode().splitlines()
    assert [ln for ln in out if ln and not ln.startswith("-DOCSTART-")] == lines


# ---------------------------------------------------------------------------
# --resolve consensus: answers of many boxes


def _crowd(n: int, answers: int = 3, step: float = 3.0) -> dict:
    tasks = [{"id": 1, "data": {"image": "a.jpg"}, "annotations": [
        {"id": a + 1, "completed_by": a + 1, "created_at": f"2024-01-0{a + 1}T00:00:00Z", "result": [
            {"id": f"r{a}_{j}", "from_name": "label", "to_name": "image", "type": "rectanglelabels",
             "original_width": 1000, "original_height": 1000,
             "value": {"x": (j % 30) * step + a * 0.01, "y": (j // 30) * step, "width": 2, "height": 2, "rotation": 0,
                       "rectanglelabels": ["p"]}} for j in range(n)]} for a in range(answers)]}]
    t = from_ls_tasks(tasks, "crowd", config=None)
    return _tables(t)


def test_consensus_scores_only_boxes_that_may_overlap(monkeypatch):
    """Three answers of 600 boxes each on one image: every box was scored against every box of the
    other answers (1.08 million pairs; 2,000 boxes each took 76 s and 4.5 GB); boxes apart are not
    paired now, and each object still comes out once."""
    scored = []
    real = resolve.pair_scores

    def counting(a, b):
        scored.append(len(a))
        return real(a, b)

    monkeypatch.setattr(resolve, "pair_scores", counting)
    picked = resolve.pick(_crowd(600), "consensus")
    assert sum(scored) <= 10 * 600
    assert len(picked.items[0].regions) == 600


@settings(max_examples=40, deadline=None)
@given(boxes=st.lists(st.tuples(st.integers(0, 2), st.floats(0, 50), st.floats(0, 50), st.floats(0, 20),
                                st.floats(0, 20)), max_size=14))
def test_property_consensus_pairs_miss_no_pair_that_scores(boxes):
    """Every pair of results of different answers whose score is above 0 is among those the sweep forms."""
    ms = [(a, None, resolve.shape_on({"x": x, "y": y, "width": w, "height": h}, None)) for a, x, y, w, h in boxes]
    every = [(i, j) for i in range(len(ms)) for j in range(i + 1, len(ms)) if ms[i][0] != ms[j][0]]
    scores = resolve.pair_scores([ms[i][2] for i, _ in every], [ms[j][2] for _, j in every])
    assert {p for p, s in zip(every, scores) if s > 0} <= set(resolve._pairs(ms))


# ---------------------------------------------------------------------------
# dataset push deleting its own doubles, while someone deletes a task


@pytest.mark.labelstudio
def test_a_push_keeps_its_task_a_shifted_listing_missed(ls, project_factory, sdk_admin, tmp_path,  # noqa: F811
                                                       monkeypatch):
    """Another push sends four of six tasks first; this push sends all six and lists the project to delete
    its doubles. A task deleted while it lists (someone's own, in the UI) shifts the pages after it, and the
    listing misses this push's first task, which is no double: it was deleted as one (its key not seen was
    taken for "an older task has it"), and the record was lost from the project. The real listing, in
    pages of one task, on the real server."""
    project = project_factory("shifted")
    records = [{"id": f"t{i}", "text": f"review number {i}"} for i in range(6)]
    (tmp_path / "tasks.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    mine: list[int] = []
    monkeypatch.setattr(ls_tasks, "existing_tasks", functools.partial(ls_tasks.existing_tasks, page_size=1))

    def race(stage: str, done: int, total: int) -> None:
        if stage == "sending tasks" and not mine:  # someone's task, then the other push's: the lower ids
            mine.extend(sdk_admin.projects.import_tasks(id=project.id, request=[{"data": {"id": "u", "text": "u"}}],
                                                        return_task_ids=True).task_ids)
            sdk_admin.projects.import_tasks(id=project.id, request=[{"data": r} for r in records[1:5]])
        elif stage == "reading the project's tasks" and done == 5 and len(mine) == 1:  # before this push's
            sdk_admin.tasks.delete(id=mine.pop())  # first task: the pages after it shift by one

    Datasets(ls).push(project.id, str(tmp_path / "tasks.jsonl"), key="data.id", progress=race)
    held = sorted(t.data["id"] for t in sdk_admin.tasks.list(project=project.id, fields="task_only"))
    assert held == [r["id"] for r in records], held  # each once, none lost
