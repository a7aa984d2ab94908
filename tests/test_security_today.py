"""Bad input against what landed on 2026-12-05: `export --images DIR` (symlinks in DIR, --out and DIR
inside each other), the notebook's numbered commands (malformed ones from the page), `tag --prune`
(a user's annotated tag) and Label Studio's task counting (a hostile server's answers)."""

from __future__ import annotations

import json
import threading
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import git
from tests.ls_fixtures import choice, cli, ls, ls_server, project_factory, sdk_admin  # noqa: F401
from tests.test_cli import invoke

CONFIG = ('<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image">'
          '<Label value="cat"/></RectangleLabels></View>')


def _tasks(*names: str) -> list[dict]:
    box = {"x": 10, "y": 10, "width": 20, "height": 20, "rotation": 0, "rectanglelabels": ["cat"]}
    return [{"id": i + 1, "data": {"image": n}, "annotations": [{"id": i + 1, "completed_by": 1, "result": [
        {"id": f"r{i}", "from_name": "label", "to_name": "image", "type": "rectanglelabels", "original_width": 100,
         "original_height": 100, "value": box}]}]} for i, n in enumerate(names)]


@pytest.fixture
def images(repo, tmp_path):
    """v1: two image tasks (imgs/a.jpg, q.jpg); data/q.jpg is a relative symlink to a file outside data/."""
    Path("boxes.xml").write_text(CONFIG)
    Path("t.json").write_text(json.dumps(_tasks("imgs/a.jpg", "q.jpg")))
    code, _, err = invoke("snapshot", "--from", "t.json", "--config", "boxes.xml", "-m", "boxes", "-q")
    assert code == 0, err
    data = tmp_path / "top" / "data"
    (data / "imgs").mkdir(parents=True)
    (data / "imgs" / "a.jpg").write_bytes(b"a" * 100)
    (tmp_path / "top" / "store").mkdir()
    (tmp_path / "top" / "store" / "p.jpg").write_bytes(b"p" * 50)
    (data / "q.jpg").symlink_to("../store/p.jpg")
    return data


def test_an_image_that_is_a_relative_symlink_is_exported_as_its_file(images, tmp_path):
    """os.link hard-linked the symlink itself: in the export, '../store/p.jpg' named no file."""
    out = tmp_path / "voc"
    code, _, err = invoke("export", "v1", "--format", "voc", "-o", str(out), "--images", str(images))
    assert code == 0, err
    got = out / "JPEGImages" / "q.jpg"
    assert not got.is_symlink() and got.read_bytes() == b"p" * 50


@pytest.mark.parametrize("where", ["same", "parent"])
def test_out_that_is_or_holds_the_images_folder_is_refused_and_it_is_kept(images, tmp_path, where):
    """--force replaced --out and deleted the images' folder with it (files no task named too)."""
    (images / "notes.txt").write_text("mine")
    out = images if where == "same" else images.parent
    before = sorted(str(p.relative_to(images)) for p in images.rglob("*"))
    code, _, err = invoke("export", "v1", "--format", "yolo", "-o", str(out), "--images", str(images), "--force")
    assert code == 2 and "inside it" in err and "Traceback" not in err
    assert sorted(str(p.relative_to(images)) for p in images.rglob("*")) == before


def test_an_export_inside_the_images_folder_can_be_made_again(images):
    """The second export found each image twice (in DIR and in the first export): exit 3."""
    out = images / "yolo"
    for _ in range(2):
        code, _, err = invoke("export", "v1", "--format", "yolo", "-o", str(out), "--images", str(images), "--force")
        assert code == 0, err
    assert sorted(p.name for p in (out / "images").rglob("*.jpg")) == ["a.jpg", "q.jpg"]


def test_malformed_commands_from_the_page_raise_nothing_into_the_kernel(tmp_path):
    """An action that is a list or an object raised TypeError (unhashable) from the message handler
    (a traceback in the notebook), a goto to Infinity OverflowError; now each is a command that does
    nothing (acknowledged) or one the session refuses, shown in the widget."""
    from tests.test_notebook import Wire, _custom, session
    from annover.notebook import widget

    ann = widget.Annotator(session(tmp_path, n=5), root=tmp_path)
    ann.comm = Wire()
    for seq, bad in enumerate([{"action": ["skip"]}, {"action": {"a": 1}}, {"action": "goto", "index": float("inf")},
                               {"action": "goto", "index": 10**40}, {"action": "image", "key": "../../etc/passwd"}], 1):
        ann._on_message(ann, {**bad, "seq": seq, "page": "p"}, [])
        if seq == 4:
            assert "no task" in ann.view["error"]
    assert ann.session.position == 0 and not ann.session.answers and ann.view["acked"] == {"p": 4}
    assert ann.view["image"]["src"] is None and "no image task" in ann.view["image"]["missing"]  # a key, not a path
    _custom(ann, {"action": "skip", "seq": 5, "page": "p"})
    assert ann.session.position == 1


def test_tag_prune_leaves_a_users_annotated_tag_and_deletes_the_rest(two_rounds):
    """`git tag -a rel` on a deleted branch's version commit: `tag --prune` deleted v3, then git
    refused the annotated tag (its ref names the tag object, not the commit): exit 15, half done.
    An annotated tag is a user's own (annover's are lightweight): listed by neither status nor prune."""
    repo, _, _ = two_rounds
    root = repo.root
    git("switch", "-q", "-c", "exp", cwd=root)
    code, _, err = invoke("snapshot", "--from", "round1.json", "--key", "data.ext_id", "-m", "exp", "-q")
    assert code == 0, err
    git("tag", "-a", "-m", "my release", "rel", "HEAD", cwd=root)
    git("switch", "-q", "-", cwd=root)
    git("branch", "-q", "-D", "exp", cwd=root)
    code, out, err = invoke("tag", "--prune", "--json")
    assert code == 0, err
    assert [t["tag"] for t in json.loads(out)["tags"]] == ["v3"]
    assert sorted(git("tag", cwd=root).split()) == ["rel", "v1", "v2"]
    assert git("cat-file", "-t", "rel", cwd=root).strip() == "tag"


# ------------------------------------------------------------------ a hostile Label Studio

class _Hostile(BaseHTTPRequestHandler):
    """Forwards to the real server; the project's own counts come without the two that tell the
    labeled tasks exactly (so they are counted), and api/tasks answers with ``server.tasks_answer``."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        upstream, answer = self.server.upstream, self.server.tasks_answer  # type: ignore[attr-defined]
        path, ctype = self.path.split("?", 1)[0], "application/json"
        if path.rstrip("/") == "/api/tasks":  # every page alike
            body = json.dumps(answer).encode()
        else:
            req = urllib.request.Request(upstream + self.path, headers={k: v for k, v in self.headers.items()
                                                                         if k.lower() != "host"})
            with urllib.request.urlopen(req, timeout=30) as r:
                body, ctype = r.read(), r.headers.get("Content-Type", ctype)
        if path.startswith("/api/projects") and ctype.startswith("application/json"):
            doc = json.loads(body)
            for p in doc.get("results", []) if isinstance(doc, dict) and "results" in doc else [doc]:
                if isinstance(p, dict):
                    p.pop("useful_annotation_number", None)
            body = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def hostile(ls_server, project_factory, sdk_admin):
    """(a proxy in front of the test server, the title of a project of 3 tasks, 2 answered)."""
    p = project_factory("hostile")
    sdk_admin.projects.import_tasks(id=p.id, request=[
        {"data": {"text": "a"}, "annotations": [{"result": choice("pos")}]},
        {"data": {"text": "b"}, "annotations": [{"result": choice("neg")}]}, {"data": {"text": "c"}}])
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    srv.upstream = ls_server.url.rstrip("/")  # type: ignore[attr-defined]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield srv, p.title
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.mark.labelstudio
@pytest.mark.parametrize("answer", [
    {"total": "two", "total_annotations": 2, "tasks": [{"id": 1, "annotations": []}]},
    {"total": None, "total_annotations": None, "tasks": "abc"},
    {"total": 2, "total_annotations": "x", "tasks": [1, 2]},
    {"total": 10**30, "total_annotations": "x", "tasks": [{"id": 1, "annotations": "no"}]},  # the same page for ever
    {"total": 10**30, "total_annotations": 10**30, "tasks": [{"id": 1, "annotations": []}]},
    {"total": -5, "total_annotations": -1, "tasks": None},
    ["not", "an", "object"],
])
def test_a_hostile_task_count_is_exit_11_in_one_line(hostile, answer, ls_server):
    """Label Studio's answer to api/tasks that is not what it sends (a count that is text, negative
    or huge, tasks that are not a list of objects): exit 11, one line; was a traceback (ValueError,
    AttributeError) or a negative count shown."""
    srv, title = hostile
    srv.tasks_answer = answer
    env = {"LABEL_STUDIO_URL": f"http://127.0.0.1:{srv.server_address[1]}", "LABEL_STUDIO_API_KEY": ls_server.api_key}
    code, out, err = cli("dataset", "stats", title, "--json", env=env)
    assert code == 11, (code, out, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and err.startswith("Error: "), err
    assert ls_server.api_key not in err


@pytest.mark.labelstudio
def test_dataset_create_config_names_a_version_a_folder_of_that_name_does_not_shadow(two_rounds, ls, sdk_admin):
    """--config v1 with a folder v1/ here was 'v1: cannot read: [Errno 21] Is a directory' (exit 5):
    a folder is no config file, so the version is meant."""
    repo, v1, _ = two_rounds
    Path("v1").mkdir()
    title = f"t-{uuid.uuid4().hex[:8]}-shadow"
    code, out, err = cli("dataset", "create", title, "--config", "v1", "--json")
    try:
        assert code == 0, err
        assert "the labeling config of version v1" in err
    finally:
        if code == 0:
            sdk_admin.projects.delete(id=json.loads(out)["id"])
