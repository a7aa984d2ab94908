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
from pathlib import Path

import pytest

from .test_cli import invoke

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "formats"
if not CORPUS.is_dir():  # a clone elsewhere (CI's): the corpus where this machine keeps it, read in place
    CORPUS = Path("/work/shared/corpus/formats")
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
        _refused(repo, src, 3, "labels/img_1.txt: not a regular file", fmt="yolo")
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
