"""Hostile training-format inputs (COCO, YOLO, Pascal VOC, CoNLL) and labeling configs: the
corpus' samples (``../shared/corpus/formats``, read in place, copied to ``tmp_path`` only to be
mutated) with links leading out of the folder, XML declarations, values of the wrong kind. Each
is one line naming the file and the record, a documented exit code, and nothing written or
read outside the folder."""

from __future__ import annotations

import json
import os
import shutil
import threading
import warnings
from pathlib import Path

import pytest

from annover.errors import ConfigError
from annover.model.config import LabelingConfig

from .ls_fixtures import ls_server  # noqa: F401  (a real Label Studio)
from .conftest import shared_corpus
from .test_cli import invoke

CORPUS = shared_corpus("formats")
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus of training formats is not here")

SECRET = "aws_secret_access_key = wJalrXUtnFEMI"


def _refused(repo, src: Path, code: int, *words: str, fmt: str | None = None) -> str:
    """Snapshot ``src``: exit ``code``, one line holding ``words``, no version made."""
    head = repo.head()
    c, out, err = invoke("snapshot", "--from", str(src), *(["--format", fmt] if fmt else []), "-m", "hostile")
    assert (c, out) == (code, ""), err
    line = err.strip()
    assert "\n" not in line and line.startswith("Error: ") and " — " in line, err
    for w in words:
        assert w in line, line
    assert repo.head() == head
    return line


def _secret(tmp_path: Path, text: str = SECRET + "\n") -> Path:
    """A file of this machine outside the dataset folder."""
    p = tmp_path / "home" / "credentials"
    p.parent.mkdir(exist_ok=True)
    p.write_text(text)
    return p


def _yolo(tmp_path: Path, sample: str = "yolo_detect_lssdk") -> Path:
    src = tmp_path / "data"
    shutil.copytree(CORPUS / sample, src)
    return src


# ---------------------------------------------------------------------------
# links out of the dataset folder


def test_a_label_file_linking_outside_the_yolo_folder_is_refused_and_not_read(repo, tmp_path):
    """labels/img_1.txt -> a file of this machine: it was read, and its first word shown in the
    error ('class 'aws_secret_access_key' is not an integer'; a file of valid lines was kept)."""
    src = _yolo(tmp_path)
    secret = _secret(tmp_path)
    (src / "labels" / "img_1.txt").unlink()
    (src / "labels" / "img_1.txt").symlink_to(secret)
    line = _refused(repo, src, 3, "labels/img_1.txt: a link to", "outside the dataset folder", fmt="yolo")
    assert "aws_secret" not in line
    _secret(tmp_path, "0 0.5 0.5 0.1 0.1\n")  # lines a YOLO reader takes: refused all the same
    _refused(repo, src, 3, "labels/img_1.txt: a link to", fmt="yolo")


def test_classes_txt_linking_outside_is_refused_not_made_the_config(repo, tmp_path):
    """classes.txt -> a secret: its lines became the class names of the config committed to git."""
    src = _yolo(tmp_path)
    secret = _secret(tmp_path, "".join(f"{SECRET}{i}\n" for i in range(4)))
    (src / "classes.txt").unlink()
    (src / "classes.txt").symlink_to(secret)
    _refused(repo, src, 3, "classes.txt: a link to", "outside the dataset folder", fmt="yolo")
    _refused(repo, src, 3, "classes.txt: a link to")  # recognised as YOLO, refused the same


@pytest.mark.parametrize("name", ["data.yaml", "sizes.json"])
def test_data_yaml_or_sizes_json_linking_outside_is_refused(repo, tmp_path, name):
    src = _yolo(tmp_path, "yolo_segment_datumaro")
    secret = _secret(tmp_path, (src / name).read_text())
    (src / name).unlink()
    (src / name).symlink_to(secret)
    _refused(repo, src, 3, f"{name}: a link to", "outside the dataset folder", fmt="yolo")


def test_a_label_folder_linking_outside_is_refused(repo, tmp_path):
    """labels/train -> a folder of this machine: the files in it lead outside, whatever their own names."""
    src = _yolo(tmp_path, "yolo_segment_datumaro")
    elsewhere = tmp_path / "elsewhere"
    shutil.move(src / "labels" / "train", elsewhere)
    (src / "labels" / "train").symlink_to(elsewhere)
    _refused(repo, src, 3, "labels/train/1.txt: a link to", "outside the dataset folder", fmt="yolo")


def test_links_inside_the_folder_and_into_a_dvc_cache_are_read(repo, tmp_path):
    """A link within the folder is read, and so is one into a DVC cache (DVC's symlink cache type
    makes every tracked file such a link: ``.dvc/cache/files/md5/ab/cdef...``)."""
    src = _yolo(tmp_path)
    shutil.copy(src / "labels" / "img_1.txt", src / "labels" / "real.txt")
    (src / "labels" / "img_1.txt").unlink()
    (src / "labels" / "img_1.txt").symlink_to("real.txt")
    cache = tmp_path / "project" / ".dvc" / "cache" / "files" / "md5" / "3f"
    cache.mkdir(parents=True)
    shutil.copy(src / "labels" / "img_2.txt", cache / ("a" * 30))
    (src / "labels" / "img_2.txt").unlink()
    (src / "labels" / "img_2.txt").symlink_to(cache / ("a" * 30))
    c, out, err = invoke("snapshot", "--from", str(src), "--format", "yolo", "-m", "links")
    assert c == 0, err
    keys = repo.load("HEAD", "tasks").column("task_key").to_pylist()
    assert {"img_1", "img_2", "real"} <= set(keys)


def test_a_fifo_among_the_label_files_is_refused_not_waited_on(repo, tmp_path):
    """A named pipe named like a label file: reading it waited for a writer, forever."""
    src = _yolo(tmp_path)
    (src / "labels" / "img_1.txt").unlink()
    os.mkfifo(src / "labels" / "img_1.txt")
    done = threading.Event()

    def unblock():  # were the reader to open the pipe, let it finish so the test fails instead of hanging
        if not done.wait(20):
            with open(src / "labels" / "img_1.txt", "w") as f:
                f.write("0 0.5 0.5 0.1 0.1\n")

    threading.Thread(target=unblock, daemon=True).start()
    try:
        _refused(repo, src, 3, "labels/img_1.txt: a named pipe, where a file is read", fmt="yolo")
    finally:
        done.set()


def test_a_voc_file_linking_outside_the_folder_is_refused(repo, tmp_path):
    src = tmp_path / "voc"
    shutil.copytree(CORPUS / "voc_raccoon_labelimg", src)
    secret = _secret(tmp_path, (src / "annotations" / "raccoon-1.xml").read_text().replace("raccoon", SECRET))
    (src / "annotations" / "raccoon-1.xml").unlink()
    (src / "annotations" / "raccoon-1.xml").symlink_to(secret)
    line = _refused(repo, src, 3, "raccoon-1.xml: a link to", "outside the dataset folder", fmt="voc")
    assert "aws_secret" not in line


# ---------------------------------------------------------------------------
# XML: no DTD, no entity, nothing fetched

_BOMB = ('<!DOCTYPE annotation [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
         '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>')


class _Listener:
    """A local HTTP server that records every path asked of it (a DTD or an entity fetched)."""

    def __init__(self) -> None:
        import http.server

        self.asked: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.asked.append(self.path)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b'<!ENTITY x "fetched">')

            def log_message(self, *a):
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener():
    s = _Listener()
    yield s
    s.close()


def _doctypes(url: str, root: str) -> dict[str, str]:
    return {"billion-laughs": _BOMB.replace("annotation", root),
            "external-entity": f'<!DOCTYPE {root} [<!ENTITY x SYSTEM "{url}/x.ent">]>',
            "external-dtd": f'<!DOCTYPE {root} SYSTEM "{url}/x.dtd">',
            "parameter-entity": f'<!DOCTYPE {root} [<!ENTITY % p SYSTEM "{url}/p.dtd"> %p;]>',
            "internal-dtd": f"<!DOCTYPE {root}>"}


@pytest.mark.parametrize("kind", ["billion-laughs", "external-entity", "external-dtd", "parameter-entity",
                                  "internal-dtd"])
def test_a_voc_file_with_a_doctype_is_refused_in_one_line_and_fetches_nothing(repo, tmp_path, listener, kind):
    """A VOC file has no DTD: any is refused, an external one was read past (and its file name kept)."""
    src = tmp_path / "voc"
    shutil.copytree(CORPUS / "voc_raccoon_labelimg", src)
    f = src / "annotations" / "raccoon-1.xml"
    text = f.read_text()
    f.write_text(_doctypes(listener.url, "annotation")[kind] + text[text.index("<annotation"):])
    line = _refused(repo, src, 3, "raccoon-1.xml:", "DOCTYPE", fmt="voc")
    assert "Forbidden(" not in line  # said in words, not as defusedxml's repr
    assert listener.asked == []


@pytest.mark.parametrize("kind", ["billion-laughs", "external-entity", "external-dtd", "parameter-entity",
                                  "internal-dtd"])
def test_a_labeling_config_with_a_doctype_is_refused_and_fetches_nothing(repo, tmp_path, listener, kind):
    """The config is committed and sent to Label Studio: an external DTD in it was kept (`config
    validate` said valid), for the server to parse."""
    cfg = tmp_path / "cfg.xml"
    cfg.write_text(_doctypes(listener.url, "View")[kind] + '<View><Image name="image" value="$image"/>'
                   '<RectangleLabels name="label" toName="image"><Label value="raccoon"/></RectangleLabels></View>')
    for args in (["config", "validate", str(cfg)],
                 ["snapshot", "--from", str(CORPUS / "voc_raccoon_labelimg"), "--config", str(cfg), "-m", "x"]):
        head = repo.head()
        code, out, err = invoke(*args)
        assert (code, out) == (5, ""), err
        line = err.strip()
        assert "\n" not in line and "cfg.xml" in line and "DOCTYPE" in line, line
        assert repo.head() == head
    assert listener.asked == []


@pytest.mark.parametrize("kind", ["billion-laughs", "external-entity", "external-dtd", "parameter-entity",
                                  "internal-dtd"])
def test_a_config_a_version_holds_is_read_as_it_was_accepted(listener, kind):
    """A version made before DOCTYPEs were refused may hold a config with one (entities were refused
    then too): reads of it (export, the notebook: ``validate=False``) go on reading it; a new
    config with it is refused. Entities stay refused on both paths, and nothing is fetched."""
    text = (_doctypes(listener.url, "View")[kind] + '<View><Image name="image" value="$image"/>'
            '<RectangleLabels name="label" toName="image"><Label value="raccoon" category="7"/></RectangleLabels>'
            '</View>')
    with pytest.raises(ConfigError, match="DOCTYPE"):
        LabelingConfig(text, source="cfg.xml")
    if "ENTITY" in text:
        with pytest.raises(ConfigError, match="unsafe XML"):
            LabelingConfig(text, source="the version's labeling config", validate=False)
    else:
        stored = LabelingConfig(text, source="the version's labeling config", validate=False)
        assert list(stored.controls) == ["label"]
        assert stored.label_attributes("category", ("RectangleLabels",)) == {"raccoon": "7"}
    assert listener.asked == []


# ---------------------------------------------------------------------------
# values of the wrong kind


def _coco(tmp_path: Path, mutate) -> Path:
    doc = json.loads((CORPUS / "coco_chess_roboflow.json").read_text())
    mutate(doc)
    p = tmp_path / "c.json"
    p.write_text(json.dumps(doc))
    return p


def _set(path: str, value):
    def mutate(doc):
        *keys, last = path.split(".")
        node = doc
        for k in keys:
            node = node[int(k)] if k.isdigit() else node[k]
        node[int(last) if last.isdigit() else last] = value
    return mutate


@pytest.mark.parametrize("path,value,words", [
    ("images.0.id", [1], ["image 0", "id is [1]"]),  # unexpected TypeError: unhashable type: 'list' (exit 1)
    ("images.0.id", {"a": 1}, ["image 0", "id is {'a': 1}"]),
    ("categories.3.id", [3], ["category 3", "id is [3]"]),
    ("images.0.file_name", ["a.jpg"], ["image 0", "file_name is ['a.jpg']"]),  # kept as the name "['a.jpg']"
    ("images.0.file_name", {"x": 1}, ["image 0", "file_name is {'x': 1}"]),
    ("categories.3.name", {"n": 1}, ["category 3", "name is {'n': 1}"]),
    ("annotations.0.image_id", [0], ["annotation 0", "image_id [0] names no image"]),
])
@pytest.mark.parametrize("config", [False, True], ids=["generated-config", "config-given"])
def test_coco_ids_and_names_of_the_wrong_kind_are_one_line(repo, tmp_path, path, value, words, config):
    src = _coco(tmp_path, _set(path, value))
    args = []
    if config:
        cfg = tmp_path / "cfg.xml"
        cats = json.loads((CORPUS / "coco_chess_roboflow.json").read_text())["categories"]
        cfg.write_text('<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image">'
                       + "".join(f'<Label value="{c["name"]}"/>' for c in cats) + "</RectangleLabels></View>")
        args = ["--config", str(cfg)]
    head = repo.head()
    code, out, err = invoke("snapshot", "--from", str(src), *args, "-m", "x")
    assert (code, out) == (3, ""), err
    line = err.strip()
    assert "\n" not in line and "c.json" in line and " — " in line, line
    for w in words:
        assert w in line, line
    assert repo.head() == head


@pytest.mark.parametrize("names,words", [
    ("[[a], {b: 1}, c, d]", ["class 0 is ['a']"]),
    ("{0: null, 1: b, 2: c, 3: d}", ["class 0 is None"]),
    ("[a, b, c, '']", ["class 3 is ''"]),
])
def test_yolo_class_names_that_are_no_names_are_refused(repo, tmp_path, names, words):
    """names: [[a], {b: 1}, null] were kept as the labels "['a']", "{'b': 1}" and "None"."""
    src = _yolo(tmp_path)
    (src / "data.yaml").write_text(f"names: {names}\n")
    _refused(repo, src, 3, "data.yaml: names:", *words, fmt="yolo")


def test_a_yaml_alias_bomb_in_data_yaml_is_a_short_line(repo, tmp_path):
    """YAML aliases nest a list 9^6 times over without using memory; the error printed it whole
    (megabytes on one line) as a class name."""
    src = _yolo(tmp_path)
    levels = ["a: &a [x, x, x, x, x, x, x, x, x]"] + [
        f"{n}: &{n} [{', '.join(['*' + p] * 9)}]" for p, n in zip("abcdef", "bcdefg")]
    (src / "data.yaml").write_text("\n".join(levels) + "\nnames: *g\nkpt_shape: *g\n")
    line = _refused(repo, src, 3, "data.yaml", fmt="yolo")
    assert len(line) < 400, len(line)


def test_a_conll_line_missing_its_tag_column_is_refused(repo, tmp_path):
    """CoNLL-2003 (token POS chunk NER): a line without its NER column has its chunk tag (I-NP)
    last, and it was read as an entity of type NP, in silence."""
    lines = (CORPUS / "conll_spacy_ontonotes.conll").read_text().splitlines()
    conll03 = [" ".join([c[0], c[1], "I-NP", c[3]]) if len(c := ln.split()) == 4 and c[0] != "-DOCSTART-" else ln
               for ln in lines]
    n = next(i for i, ln in enumerate(conll03) if ln.endswith("B-PERSON"))
    conll03[n] = conll03[n].rsplit(" ", 1)[0]
    src = tmp_path / "c.conll"
    src.write_text("\n".join(conll03) + "\n")
    _refused(repo, src, 3, f"c.conll: line {n + 1}: 3 columns", "line 3 has 4", fmt="conll")
    _refused(repo, src, 3, f"c.conll: line {n + 1}: 3 columns")


# ---------------------------------------------------------------------------
# Label Studio URLs with credentials in them

_PASSWORD = "pa55-W0rd-in-the-URL"


@pytest.mark.labelstudio
def test_a_label_studio_url_with_a_user_and_password_is_refused_naming_neither(repo, ls_server, monkeypatch):
    """http://user:password@host: httpx sent them as Basic authentication in place of the API key,
    and every command said 'refused the API key' (exit 13, check LABEL_STUDIO_API_KEY) though the key
    was right. Now exit 2 saying what to remove, neither the password nor the key shown."""
    scheme, rest = ls_server.url.split("://", 1)
    outputs = []
    for url in (f"{scheme}://alice:{_PASSWORD}@{rest}", f"{scheme}://{_PASSWORD}@{rest}"):
        monkeypatch.setenv("LABEL_STUDIO_URL", url)
        for args in (["dataset", "list", "--json"], ["snapshot", "--label-studio", "anything", "-m", "x"]):
            code, out, err = invoke(*args)
            outputs += [out, err]
            assert (code, out) == (2, ""), err
            assert "\n" not in err.strip() and "LABEL_STUDIO_URL" in err and "user" in err, err
        monkeypatch.delenv("LABEL_STUDIO_URL")
        code, out, err = invoke("dataset", "list", "--url", url)
        outputs += [out, err]
        assert code == 2 and "--url" in err, err
    assert not [o for o in outputs if _PASSWORD in o or ls_server.api_key in o]
    assert repo.log() == []


@pytest.mark.parametrize("url", [f"http://alice:{_PASSWORD}@[::1", "http://[::1:8080"])
def test_a_label_studio_url_that_does_not_parse_is_exit_2_without_it(repo, monkeypatch, url):
    """'http://u:p@[::1' was 'unexpected ValueError: Invalid IPv6 URL — this is a bug' (exit 1)."""
    monkeypatch.setenv("LABEL_STUDIO_URL", url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "k" * 40)
    code, out, err = invoke("dataset", "list")
    assert (code, out) == (2, ""), err
    assert "\n" not in err.strip() and "LABEL_STUDIO_URL" in err and _PASSWORD not in err, err


def test_a_coco_box_of_huge_numbers_prints_no_numpy_warnings(repo, tmp_path):
    """bbox [1e308, 1, 1e308, 3]: the column reader's products overflow (values beyond 2**52 are
    then rounded by Python, as designed), and numpy printed six lines of RuntimeWarning with source."""
    src = _coco(tmp_path, _set("annotations.0.bbox", [1e308, 1, 1e308, 3]))
    with warnings.catch_warnings(record=True) as caught:  # what Python would print on stderr
        warnings.simplefilter("always")
        code, out, err = invoke("snapshot", "--from", str(src), "-m", "huge")
    assert code == 0, err
    assert [str(w.message) for w in caught] == []


def test_one_voc_file_given_alone_is_read(repo, tmp_path):
    """A single XML given to --from (its own 'folder') is read, and so is a link to it the user gives."""
    f = CORPUS / "voc_raccoon_labelimg" / "annotations" / "raccoon-1.xml"
    (tmp_path / "mine.xml").symlink_to(f)
    for src in (f, tmp_path / "mine.xml"):
        code, out, err = invoke("snapshot", "--from", str(src), "--format", "voc", "-m", f"one {src.name}")
        assert code == 0, err


def test_a_fifo_named_like_an_image_is_refused_not_waited_on(repo, tmp_path):
    """images/a.jpg a named pipe: PIL's open waited for a writer, forever."""
    src = tmp_path / "y"
    (src / "labels").mkdir(parents=True)
    (src / "images").mkdir()
    (src / "data.yaml").write_text("names: [a]\n")
    (src / "labels" / "a.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    os.mkfifo(src / "images" / "a.jpg")
    done = threading.Event()

    def unblock():
        if not done.wait(20):
            with open(src / "images" / "a.jpg", "wb") as f:
                f.write(b"not an image")

    threading.Thread(target=unblock, daemon=True).start()
    try:
        _refused(repo, src, 3, "images/a.jpg: not a regular file", fmt="yolo")
    finally:
        done.set()
