"""Label Studio parts that need no server: connection settings, error mapping, local-file
URLs, reading sources, the incremental pull's starting point."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annover.errors import InputError, LabelStudioConnectionError, NotFoundError, UsageError, ValidationError
from annover.formats.label_studio import task_key_of
from annover.labelstudio import client as C
from annover.labelstudio import sync, tasks
from annover.model.config import LabelingConfig

from .ls_fixtures import IMAGE_CONFIG, TEXT_CONFIG, cli, png_bytes


def closed_port_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{s.getsockname()[1]}"
    s.close()
    return url


def test_connection_comes_from_the_environment_and_flags_override(monkeypatch):
    monkeypatch.setenv("LABEL_STUDIO_URL", "http://ls.example:8080/")
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "secret-key-123")
    c = C.connect()
    assert c.url == "http://ls.example:8080"
    assert C.connect(url="localhost:9999").url == "http://localhost:9999"
    assert "secret-key-123" not in repr(c) and "secret-key-123" not in repr(vars(c).get("url"))
    monkeypatch.delenv("LABEL_STUDIO_API_KEY")
    with pytest.raises(UsageError, match="LABEL_STUDIO_API_KEY"):
        C.connect()
    monkeypatch.delenv("LABEL_STUDIO_URL")
    with pytest.raises(UsageError, match="LABEL_STUDIO_URL"):
        C.connect(api_key="k")


def test_public_url_drops_credentials_and_query():
    assert C.public_url("https://user:pw@ls.example.com/sub/?token=x") == "https://ls.example.com/sub"


def test_a_server_that_is_down_is_exit_12_with_one_line(monkeypatch):
    url = closed_port_url()
    with pytest.raises(LabelStudioConnectionError, match="cannot reach Label Studio"):
        C.connect(url, "some-key").projects()
    monkeypatch.setenv("LABEL_STUDIO_URL", url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "some-key-that-must-not-show")
    code, out, err = cli("dataset", "list")
    assert code == 12 and out == ""
    assert len(err.strip().splitlines()) == 1 and url in err and "some-key-that-must-not-show" not in err
    assert err.rstrip().endswith("start Label Studio, or check LABEL_STUDIO_URL"), err


def test_a_hint_names_the_option_that_gave_the_url_not_the_variable(monkeypatch, repo):
    """With --url (or snapshot's --ls-url), the hint said 'check LABEL_STUDIO_URL', which was not used."""
    monkeypatch.setenv("LABEL_STUDIO_URL", "http://127.0.0.1:1/not-this-one")
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "some-key")
    url = closed_port_url()
    for args, option in ((["dataset", "list", "--url", url], "--url"),
                         (["snapshot", "--label-studio", "x", "--ls-url", url], "--ls-url")):
        code, out, err = cli(*args)
        assert code == 12 and out == "" and url in err, (args, err)
        assert err.rstrip().endswith(f"start Label Studio, or check {option}"), err


def test_dataset_export_refuses_an_out_it_cannot_write_before_asking_the_server(monkeypatch, tmp_path):
    """As `annover export`: '-' is not a file name, and a folder under a file is exit 2, not a crash
    after the download (nor a file named '-')."""
    monkeypatch.setenv("LABEL_STUDIO_URL", closed_port_url())  # never asked: the refusal comes first
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "some-key")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    for args in (["--out", "-"], ["--out", "afile/e.json"], ["--out", "e.json", "--config-out", "afile/c.xml"]):
        code, out, err = cli("dataset", "export", "x", *args)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, (args, code, err)
        assert "cannot write " + args[-2] in err and "unexpected" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]
    (tmp_path / "c.xml").write_text("<View/>")  # an existing --config-out is named as such in the hint
    code, out, err = cli("dataset", "export", "x", "--out", "e.json", "--config-out", "c.xml")
    assert code == 2 and "c.xml exists" in err and "choose another --config-out, or pass --force" in err, err


def test_a_bad_lock_timeout_is_refused_before_the_server_is_changed(monkeypatch, repo):
    """In a repository, dataset create commits a record under the lock after making the project:
    ANNOVER_LOCK_TIMEOUT that is not seconds is exit 2 before (here: before a server on a closed
    port is asked, which would be exit 12), not after a project was made and left unrecorded.
    (delete reads the project first, then refuses the same way before deleting it.)"""
    monkeypatch.setenv("LABEL_STUDIO_URL", closed_port_url())
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "some-key")
    monkeypatch.setenv("ANNOVER_LOCK_TIMEOUT", "abc")
    code, out, err = cli("dataset", "create", "x", "--template", "text-classification", "--labels", "a,b")
    assert code == 2 and out == "" and "ANNOVER_LOCK_TIMEOUT" in err and len(err.splitlines()) == 1, (code, err)


def test_a_server_that_does_not_answer_names_the_limit_as_given(monkeypatch):
    """A limit under a second was shown rounded: ``ANNOVER_LS_TIMEOUT=0.25`` said "limit 0 s"."""
    with socket.socket() as s:  # accepts, never answers
        s.bind(("127.0.0.1", 0))
        s.listen(4)
        monkeypatch.setenv("LABEL_STUDIO_URL", f"http://127.0.0.1:{s.getsockname()[1]}")
        monkeypatch.setenv("LABEL_STUDIO_API_KEY", "some-key")
        monkeypatch.setenv("ANNOVER_LS_TIMEOUT", "0.25")
        code, out, err = cli("dataset", "list")
    assert code == 12 and out == "" and "did not answer in time" in err and "limit 0.25 s" in err, err


def test_missing_settings_are_usage_errors(monkeypatch):
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    code, _, err = cli("dataset", "list")
    assert code == 2 and "LABEL_STUDIO_URL" in err


@pytest.mark.parametrize("body, want", [
    ({"detail": "Invalid token."}, "Invalid token."),
    ({"detail": "Validation error", "validation_errors": {"title": ["Too short."]}}, "title: Too short."),
    ("<html><title>Bad Gateway</title></html>", "Bad Gateway"),
    ('{"detail": "x\\ny"}', "x y"),
])
def test_error_details_are_one_line(body, want):
    assert C._detail(body) == want


class _EchoingServer:
    """A loopback HTTP server answering every request 400 with the request's Authorization header in
    the error detail, as a misconfigured proxy or debug server in front of Label Studio can (a real
    Label Studio never echoes the key, so it cannot show this)."""

    def __init__(self, padding: int = 0) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                said = "x" * padding + " you sent: " + self.headers.get("Authorization", "")
                body = json.dumps({"detail": said}).encode()
                self.send_response(400)
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


@pytest.mark.parametrize("key, padding", [("abc", 0), ("k", 0), ("a1b2c", 0), ("0123456789abcdef" * 3, 258)])
def test_a_key_the_server_echoes_is_hidden_whatever_its_length(monkeypatch, key, padding):
    """Keys under 6 characters were shown as the server echoed them (`Token abc`), and a long one cut
    by the one-line limit showed its start."""
    server = _EchoingServer(padding)
    try:
        monkeypatch.setenv("LABEL_STUDIO_URL", server.url)
        monkeypatch.setenv("LABEL_STUDIO_API_KEY", key)
        code, out, err = cli("dataset", "list")
    finally:
        server.close()
    assert code == 11 and out == "" and len(err.splitlines()) == 1, err
    assert f"Token {key[:5]}" not in err and ("you sent: Token ***" in err or "you sent: Token…" in err), err


_KEY_CHARS = st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEF0123456789-_.")
_TEXT = st.text(st.sampled_from("ab01 .:-_\"'{}xyzK"), max_size=30)


@settings(deadline=None)
@given(key=st.text(_KEY_CHARS, min_size=1, max_size=12), before=_TEXT, after=_TEXT)
def test_hide_key_hides_a_key_standing_apart_and_a_long_one_anywhere(key, before, after):
    said = C.hide_key(f"{before} Token {key}: {after}", key)
    assert f"Token {key}:" not in said and "Token ***:" in said
    if len(key) >= C.HIDDEN_ANYWHERE:
        assert key not in C.hide_key(f"{before}{key}{after}", key)
    assert C.hide_key("a bad key: a", "a") == "*** bad key: ***" and C.hide_key("no key here", None) == "no key here"


def test_config_objects_and_file_kinds():
    assert [(o.tag, o.field) for o in tasks.data_objects(LabelingConfig(IMAGE_CONFIG))] == [("Image", "image")]
    assert [(o.tag, o.field) for o in tasks.data_objects(LabelingConfig(TEXT_CONFIG))] == [("Text", "text")]
    url_text = '<View><Text name="t" value="$url" valueType="url"/><Image name="i" value="fixed.png"/>' \
               '<Choices name="c" toName="t"><Choice value="a"/></Choices></View>'
    assert tasks.data_objects(LabelingConfig(url_text)) == []  # a URL to fetch, a fixed image: no files to send
    assert tasks.kind_of(Path("a.JPG")) == "image" and tasks.kind_of(Path("a.txt")) == "text"
    assert tasks.kind_of(Path("a.md")) is None


def test_local_file_urls_are_what_label_studio_writes(tmp_path):
    root = tmp_path / "root"
    (root / "data" / "sub dir").mkdir(parents=True)
    f = root / "data" / "sub dir" / "a#b&c.png"
    f.write_bytes(png_bytes((1, 2, 3)))
    lf = tasks.LocalFiles(str(root))
    assert lf.url(f, "x") == "/data/local-files/?d=data/sub%20dir/a%23b%26c.png"
    assert lf.storage_dirs() == [(root / "data" / "sub dir").resolve()]
    (root / "top.png").write_bytes(b"x")
    with pytest.raises(InputError, match="directly in the document root"):
        lf.url(root / "top.png", "x")
    with pytest.raises(InputError, match="not below the document root"):
        lf.url(tmp_path / "elsewhere.png", "x")
    with pytest.raises(UsageError, match="LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT"):
        tasks.LocalFiles(None).url(f, "x")


def test_reading_sources(tmp_path):
    objs = tasks.data_objects(LabelingConfig(TEXT_CONFIG))
    lf = tasks.LocalFiles(None)
    (tmp_path / "r.csv").write_text('id,text\n1,"a, b"\n2,c\n')
    src = tasks.read_tasks(str(tmp_path / "r.csv"), objects=objs, field_name=None, local=lf, repo=None,
                            send_annotations=False)
    assert [i["data"] for i in src.items] == [{"id": "1", "text": "a, b"}, {"id": "2", "text": "c"}]
    ls_task = {"id": 7, "data": {"text": "x"}, "meta": {"m": 1}, "annotations": [{"id": 3, "result": []}],
               "predictions": [{"id": 9, "model_version": "m", "score": 0.5, "result": [], "created_at": "t"}]}
    (tmp_path / "t.json").write_text(json.dumps([ls_task]))
    src = tasks.read_tasks(str(tmp_path / "t.json"), objects=objs, field_name=None, local=lf, repo=None,
                            send_annotations=False)
    assert src.items == [{"data": {"text": "x"}, "meta": {"m": 1},
                          "predictions": [{"model_version": "m", "score": 0.5, "result": []}]}]
    assert "1 annotation(s) not sent" in src.warnings[0]
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "b.txt").write_text("bee")
    (tmp_path / "texts" / "a.txt").write_text("ay")
    src = tasks.read_tasks(str(tmp_path / "texts"), objects=objs, field_name=None, local=lf, repo=None,
                            send_annotations=False)
    assert [i["data"] for i in src.items] == [{"text": "ay"}, {"text": "bee"}]
    with pytest.raises(InputError, match="no object that shows image"):
        (tmp_path / "texts" / "c.png").write_bytes(b"x")
        tasks.read_tasks(str(tmp_path / "texts"), objects=objs, field_name=None, local=lf, repo=None,
                          send_annotations=False)
    with pytest.raises(NotFoundError, match="nope"):
        tasks.read_tasks(str(tmp_path / "nope"), objects=objs, field_name=None, local=lf, repo=None,
                          send_annotations=False)


def test_predictions_by_key_data_or_file(tmp_path):
    files = {"sub/x.png": {"image": "/data/local-files/?d=d/sub/x.png"}}
    rows = [{"task_key": "k1", "model_version": "m", "score": 1, "result": []},
            {"data": {"text": "t"}, "model_version": "m", "result": [], "id": 5},
            {"file": "sub/x.png", "model_version": "m", "result": []}]
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    got = tasks.read_predictions(str(tmp_path / "p.jsonl"), key=None, repo=None, files=files)
    k_data = task_key_of({"data": {"text": "t"}}, None, "")
    k_file = task_key_of({"data": files["sub/x.png"]}, None, "")
    assert got == {"k1": [{"model_version": "m", "score": 1, "result": []}],
                   k_data: [{"model_version": "m", "result": []}], k_file: [{"model_version": "m", "result": []}]}
    (tmp_path / "bad.jsonl").write_text(json.dumps({"file": "other.png", "result": []}) + "\n")
    with pytest.raises(InputError, match="other.png"):
        tasks.read_predictions(str(tmp_path / "bad.jsonl"), key=None, repo=None, files=files)


def test_batches_respect_count_and_size():
    items = [{"data": {"t": "x" * 100}} for _ in range(10)]
    assert [len(b) for b in tasks.batches(items, 4, 10**9)] == [4, 4, 2]
    assert [len(b) for b in tasks.batches(items, 100, 250)] == [2, 2, 2, 2, 2]


def test_the_next_pull_starts_no_later_than_the_export_began():
    export_began = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
    tasks_ = [{"updated_at": "2026-01-01T11:00:00.5Z"}, {"updated_at": "2026-01-01T11:30:00.123456Z"}]
    assert sync._since(tasks_, export_began) == "2026-01-01T11:30:00.123456Z"
    tasks_.append({"updated_at": "2026-01-01T12:00:01Z"})  # changed while the export ran
    assert sync._since(tasks_, export_began) == "2026-01-01T12:00:00.000000Z"
    assert sync._since([], export_began) == "2026-01-01T12:00:00.000000Z"


class FakeServer:
    """Just enough of :class:`annover.labelstudio.client.Client` for :func:`tasks.push`."""

    url = "http://ls.test"
    timeout = 5

    def __init__(self, config: str) -> None:
        self.config = config
        self.tasks: list[dict] = []
        self.predictions: list[dict] = []
        self.sdk = type("Sdk", (), {"projects": type("Projects", (), {
            "import_tasks": staticmethod(self._import_tasks),
            "import_predictions": staticmethod(self._import_predictions)})()})()

    def project(self, dataset):
        return C.Project(1, "reviews", self.config, len(self.tasks), 0, 0, len(self.predictions), 0)

    def project_by_id(self, pid):  # the push reads the prediction count again after sending
        return self.project(pid)

    def project_url(self, project):
        return f"{self.url}/projects/{project.id}"

    def raw(self, method, path, what="", params=None, **kw):
        if path == "api/tasks":
            return {"tasks": [{"id": t["id"], "data": t["data"]} for t in self.tasks], "total": len(self.tasks)}
        assert path == "api/predictions/", path
        return self.predictions

    def call(self, what, fn, **kw):
        return fn(**kw)

    def _import_tasks(self, id, request, return_task_ids, request_options):
        ids = []
        for item in request:
            tid = len(self.tasks) + 1
            self.tasks.append({"id": tid, **item})
            self.predictions += [{"task": tid, **p} for p in item.get("predictions", [])]
            ids.append(tid)
        return type("R", (), {"task_ids": ids})()

    def _import_predictions(self, id, request, request_options):
        self.predictions += request


def test_push_reads_records_and_predictions_through_the_formats(tmp_path):
    server = FakeServer(TEXT_CONFIG)
    (tmp_path / "r.jsonl").write_text("".join(json.dumps({"id": f"r{i}", "text": f"t{i}"}) + "\n" for i in range(3)))
    pred = {"model_version": "m1", "score": 0.5, "id": 77,
            "result": [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["pos"]}}]}
    (tmp_path / "p.jsonl").write_text(json.dumps({"task_key": "r0", **pred}) + "\n"
                                      + json.dumps({"data": {"id": "r1", "text": "t1"}, **pred}) + "\n")
    r = tasks.push(server, "reviews", str(tmp_path / "r.jsonl"), key="data.id", predictions=str(tmp_path / "p.jsonl"))
    assert (r.tasks, r.sent, r.already, r.predictions, r.warnings) == (3, 3, 0, 2, [])
    sent = {t["data"]["id"]: t.get("predictions", []) for t in server.tasks}
    want = {k: v for k, v in pred.items() if k != "id"}  # Label Studio's own ids are not sent
    assert sent == {"r0": [want], "r1": [want], "r2": []}
    # again, with a new model version for a task already there: only that prediction goes
    (tmp_path / "p2.jsonl").write_text(json.dumps({"task_key": "r0", **pred}) + "\n"
                                       + json.dumps({"task_key": "r2", **pred, "model_version": "m2"}) + "\n")
    r = tasks.push(server, "reviews", str(tmp_path / "r.jsonl"), key="data.id", predictions=str(tmp_path / "p2.jsonl"))
    assert (r.sent, r.already, r.predictions, r.predictions_already) == (0, 3, 1, 1)
    assert server.predictions[-1]["task"] == 3 and server.predictions[-1]["model_version"] == "m2"
    # a label the dataset's config does not have: refused before anything is sent
    bad = {"task_key": "r2", **pred, "result": [{**pred["result"][0], "value": {"choices": ["ecstatic"]}}]}
    (tmp_path / "bad.jsonl").write_text(json.dumps(bad) + "\n")
    with pytest.raises(ValidationError, match="ecstatic"):
        tasks.push(server, "reviews", str(tmp_path / "r.jsonl"), key="data.id", predictions=str(tmp_path / "bad.jsonl"))
    assert len(server.tasks) == 3


def test_a_folder_sends_no_text_from_a_link_to_a_file_outside_it(tmp_path):
    """A .txt in the --from folder that links outside it (a secret of this machine) is refused, not read and sent."""
    objs = tasks.data_objects(LabelingConfig(TEXT_CONFIG))
    (tmp_path / "secret").write_text("outside the folder")
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.txt").write_text("ay")
    (tmp_path / "texts" / "b.txt").symlink_to(tmp_path / "secret")
    with pytest.raises(InputError, match="b.txt: a link to .*secret, outside .*texts"):
        tasks.read_tasks(str(tmp_path / "texts"), objects=objs, field_name=None, local=tasks.LocalFiles(None),
                         repo=None, send_annotations=False)
    (tmp_path / "texts" / "b.txt").unlink()
    (tmp_path / "texts" / "b.txt").symlink_to("a.txt")  # a link inside the folder is still read
    src = tasks.read_tasks(str(tmp_path / "texts"), objects=objs, field_name=None, local=tasks.LocalFiles(None),
                           repo=None, send_annotations=False)
    assert [i["data"]["text"] for i in src.items] == ["ay", "ay"]
