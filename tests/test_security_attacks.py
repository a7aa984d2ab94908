"""Attacks run for real against annover: credentials, paths, markup (the December security audit).

Each test names what it did before its fix. Label Studio tests use the real server from
``ls_fixtures``; the "proxy" in front of it is the misconfigured one a team can have.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import tempfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import httpx
import pytest

import annover
from annover.errors import RevisionError
from annover.notebook import widget

from .ls_fixtures import ls_server  # noqa: F401 - fixture
from .test_cli import invoke


class _EchoingProxy:
    """In front of the real server: a token refresh (POST) goes through, every GET is answered 400
    with the request's Authorization header in the detail (a debugging proxy can say that)."""

    def __init__(self, upstream: str) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                r = httpx.post(upstream + self.path, content=body, headers={"Content-Type": "application/json"})
                self._answer(r.status_code, r.content)

            def do_GET(self) -> None:  # noqa: N802
                said = "you sent: " + self.headers.get("Authorization", "")
                self._answer(400, json.dumps({"detail": said}).encode())

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def personal_token(ls_server) -> Iterator[str]:  # noqa: F811
    """A personal access token (a JWT refresh token) of the admin, made on the server, blacklisted after."""
    admin = {"Authorization": f"Token {ls_server.api_key}"}
    r = httpx.post(f"{ls_server.url}/api/token/", headers=admin, timeout=60)
    assert r.status_code == 201, f"the server made no personal access token (one exists already?): {r.text}"
    token = r.json()["token"]
    try:
        yield token
    finally:
        httpx.post(f"{ls_server.url}/api/token/blacklist/", headers=admin, json={"refresh": token}, timeout=60)


@pytest.mark.labelstudio
def test_the_access_token_a_personal_token_is_traded_for_is_hidden_too(ls_server, personal_token,  # noqa: F811
                                                                      monkeypatch):
    """With a personal access token, label-studio-sdk sends `Bearer <access token>`, a second JWT the
    server gives for it (valid minutes, as good as the key meanwhile). Was: a proxy's error quoting the
    header showed that token whole; only the key itself was hidden."""
    proxy = _EchoingProxy(ls_server.url)
    try:
        monkeypatch.setenv("LABEL_STUDIO_URL", proxy.url)
        monkeypatch.setenv("LABEL_STUDIO_API_KEY", personal_token)
        code, out, err = invoke("dataset", "list")
    finally:
        proxy.close()
    assert code == 11 and out == "" and len(err.splitlines()) == 1, err
    assert "you sent: Bearer ***" in err and "eyJ" not in err, err



# ---------------------------------------------------------------------- a URL's user:password@


def _read_body(handler: BaseHTTPRequestHandler) -> None:
    """Read a request's whole body, chunked too (DVC's uploads may come with no Content-Length): a
    server that answers before it has read the body breaks the client's pipe, and DVC's error then
    names no URL."""
    if "chunked" not in (handler.headers.get("Transfer-Encoding") or "").lower():
        handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        return
    while True:
        size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
        handler.rfile.read(size + 2)  # the chunk and its CRLF; the last chunk's CRLF ends the trailer
        if size == 0:
            return


class _RefusingRemote:
    """An HTTP server that answers 404 to every request, uploads included (a wrong path on the server):
    DVC's failure then names the file's URL. It reads what it is sent first, so each answer is the same."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def _refuse(self, status: int) -> None:
                _read_body(self)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:  # noqa: N802 - http.server's names
                self._refuse(404)

            def do_HEAD(self) -> None:  # noqa: N802
                self._refuse(404)

            do_POST = do_PUT = do_GET

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.port = self.server.server_address[1]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_failed_push_does_not_show_the_password_of_a_remote_url(two_rounds):
    """A remote set with plain `dvc remote add r http://USER:PASSWORD@host/store` (annover init takes
    them out of the URL; DVC does not). Was: the push's error quoted DVC's failure to copy a file,
    whose URL held the password."""
    repo, _, _ = two_rounds
    server = _RefusingRemote()
    try:
        subprocess.run([str(Path(sys.executable).with_name("dvc")), "remote", "add", "-f", "-d", "annover",
                        f"http://bob:pw-in-url-1234@127.0.0.1:{server.port}/store"], cwd=repo.root, check=True,
                       capture_output=True)
        code, out, err = invoke("push")
    finally:
        server.close()
    assert code == 10 and len(err.splitlines()) == 1 and "failed to push" in err, err
    assert "pw-in-url-1234" not in err + out and "http://***@127.0.0.1" in err, err


def test_a_git_url_token_is_not_shown_when_load_cannot_read_it(tmp_path):
    """`annover.load("v1", repo="https://USER:TOKEN@host/repo.git")`, how a token is given to git over
    HTTPS. Was: the error named the URL, token and all."""
    with pytest.raises(RevisionError) as e:
        annover.load("v1", repo="http://bob:tok-in-url-5678@127.0.0.1:9/repo.git")
    assert "tok-in-url-5678" not in str(e.value) and "http://***@127.0.0.1:9/repo.git" in str(e.value)
    # nor kept on disk: DVC's half-made clone (its .git/config holds the URL as given) was left in the
    # temporary folder, since a clone that fails is not in the list DVC's cleanup removes
    left = [p for p in Path(tempfile.gettempdir()).glob("*dvc-clone")
            if "tok-in-url-5678" in _read_or_empty(p / ".git" / "config")]
    assert not left, left


def _read_or_empty(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def test_a_remote_url_with_a_token_in_its_query_is_refused_unshown(tmp_path):
    """`annover init --remote 'https://host/store?token=SECRET'`. Was: the URL went whole into the
    committed .dvc/config and was printed; DVC puts each file's path after the query, so such a
    remote never worked either."""
    root = tmp_path / "labels"
    root.mkdir()
    code, out, err = invoke("init", str(root), "--remote", "https://127.0.0.1:9/store?token=tok-in-query-42")
    assert code == 2 and len(err.splitlines()) == 1 and "has a query" in err, err
    assert "tok-in-query-42" not in out + err and not any(root.iterdir())


def test_a_hand_set_remote_url_with_a_token_in_its_query_is_not_shown(two_rounds):
    """The same URL set with plain `dvc remote add` (annover init refuses it). Was: status, push and
    pull named the remote with its query, token and all."""
    repo, _, _ = two_rounds
    subprocess.run([str(Path(sys.executable).with_name("dvc")), "remote", "add", "-f", "-d", "annover",
                    "https://127.0.0.1:9/store?token=tok-in-query-77"], cwd=repo.root, check=True, capture_output=True)
    for args in (["status"], ["status", "--json"], ["push"]):
        code, out, err = invoke(*args)
        assert code == 10 and "tok-in-query-77" not in out + err, (args, out, err)
        assert "https://127.0.0.1:9/store?***" in err, (args, err)
    code, out, err = invoke("pull")  # every object here already: the remote is not asked
    assert "tok-in-query-77" not in out + err, (out, err)


# ---------------------------------------------------------------------- export --images


_BOXES = """<View><Image name="image" value="$image"/>
<RectangleLabels name="label" toName="image"><Label value="cat"/></RectangleLabels></View>"""


def _box_tasks(*names: str) -> list[dict]:
    box = {"x": 10, "y": 10, "width": 20, "height": 20, "rotation": 0, "rectanglelabels": ["cat"]}
    return [{"id": i + 1, "data": {"image": n}, "annotations": [{"id": i + 1, "completed_by": 1, "result": [
        {"id": f"r{i}", "from_name": "label", "to_name": "image", "type": "rectanglelabels", "original_width": 100,
         "original_height": 100, "value": box}]}]} for i, n in enumerate(names)]


@pytest.fixture
def linked_secret(repo, tmp_path):
    """v1: tasks imgs/a.jpg and imgs/cat.jpg; in the images' folder, cat.jpg is a link a repository's
    author can commit, to a file outside named as no image (a stand-in for ~/.aws/credentials)."""
    Path("boxes.xml").write_text(_BOXES)
    Path("t.json").write_text(json.dumps(_box_tasks("imgs/a.jpg", "imgs/cat.jpg")))
    code, _, err = invoke("snapshot", "--from", "t.json", "--config", "boxes.xml", "-m", "boxes", "-q")
    assert code == 0, err
    secret = tmp_path / "home" / ".aws" / "credentials"
    secret.parent.mkdir(parents=True)
    secret.write_text("aws_secret_access_key = secret-behind-a-link\n")
    data = Path("data")
    (data / "imgs").mkdir(parents=True)
    (data / "imgs" / "a.jpg").write_bytes(b"a" * 100)
    (data / "imgs" / "cat.jpg").symlink_to(os.path.relpath(secret, data / "imgs"))
    return data


@pytest.mark.parametrize("fmt", ["yolo", "voc", "coco", "hf"])
def test_export_images_puts_no_file_a_link_leads_to_that_is_no_image(linked_secret, tmp_path, fmt):
    """Was: `imgs/cat.jpg -> ../../home/.aws/credentials` was hard-linked (YOLO, VOC, COCO) or copied
    (Hugging Face) into the export, a folder made to be uploaded to a training machine."""
    out = tmp_path / f"out-{fmt}"
    code, _, err = invoke("export", "v1", "--format", fmt, "--resolve", "latest", "-o", str(out),
                          "--images", str(linked_secret))
    assert code == 3 and len(err.splitlines()) == 1, err
    assert "cat.jpg" in err and "credentials" in err and not out.exists(), err
    assert [p for p in tmp_path.iterdir() if p.name.startswith(f".out-{fmt}")] == []


def test_the_local_config_holding_a_remotes_keys_is_readable_by_its_owner_alone(tmp_path):
    """`annover init --remote s3://KEY:SECRET@bucket` wrote the keys to .dvc/config.local as DVC
    writes it, readable by every user of the machine (0644), where ~/.aws/credentials is 0600."""
    root = tmp_path / "labels"
    code, _, err = invoke("init", str(root), "--remote", "s3://KEYID:key-secret-99@bucket/store")
    assert code == 0, err
    local = root / ".dvc" / "config.local"
    assert "key-secret-99" in local.read_text() and local.stat().st_mode & 0o077 == 0, oct(local.stat().st_mode)


def test_the_annotator_sends_no_file_an_image_named_link_leads_to(tmp_path):
    """A folder of images where `cat.png` is a link to a file named as no image (~/.aws/credentials;
    a cloned dataset can hold one). Was: its bytes went to the page as the image, though only files
    named as images are sent (docs/notebook.md)."""
    secret = tmp_path / "home" / ".aws" / "credentials"
    secret.parent.mkdir(parents=True)
    secret.write_text("aws_secret_access_key = secret-behind-a-link\n")
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "dog.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 16)
    (photos / "cat.png").symlink_to(os.path.relpath(secret, photos))
    assert widget.image_view("dog.png", photos)[0].startswith("data:image/png;base64,")
    src, missing = widget.image_view("cat.png", photos)
    assert src is None and missing == "not an image file (by the name of the file it links to): cat.png"
