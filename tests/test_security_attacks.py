"""Attacks run for real against annover: credentials, paths, markup (the December security audit).

Each test names what it did before its fix. Label Studio tests use the real server from
``ls_fixtures``; the "proxy" in front of it is the misconfigured one a team can have.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import httpx
import pytest

from .ls_fixtures import ls_server  # noqa: F401 - fixture
from .test_cli import invoke

pytestmark = pytest.mark.labelstudio


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

