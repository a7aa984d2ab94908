"""A real Label Studio server for the tests marked ``labelstudio``.

The server comes from the environment (``LABEL_STUDIO_URL`` / ``LABEL_STUDIO_API_KEY``, as
CI's ``.ci/run`` exports them) or, when those are absent, is started once per session with
``.ci/labelstudio.sh start`` (a private env file) and stopped at the end. Import the
fixtures into a test module: ``from .ls_fixtures import ls_server, ls, project_factory``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import struct
import subprocess
import tempfile
import uuid
import warnings
import zlib
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from click.testing import CliRunner
from label_studio_sdk import LabelStudio

from annover.cli import run
from annover.labelstudio import Datasets, connect

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / ".ci" / "labelstudio.sh"

TEXT_CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single">
    <Choice value="pos"/><Choice value="neg"/><Choice value="neutral"/>
  </Choices>
</View>
"""
IMAGE_CONFIG = """<View>
  <Image name="image" value="$image"/>
  <Choices name="label" toName="image"><Choice value="cat"/><Choice value="dog"/></Choices>
</View>
"""


@dataclass
class LSServer:
    url: str
    api_key: str
    annotator2_key: str | None
    annotator2_email: str | None
    document_root: str | None


def _read_env_file(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        if line.startswith("export ") and "=" in line:
            k, v = line[len("export "):].split("=", 1)
            out[k] = shlex.split(v)[0] if v else ""
    return out


@contextmanager
def started_labelstudio(folder: Path) -> Iterator[dict[str, str]]:
    """A Label Studio of its own, started with ``.ci/labelstudio.sh`` (its env file in ``folder``):
    the variables the script wrote; stopped after, with a warning if it may still run."""
    if not SCRIPT.exists() or shutil.which("bash") is None:
        pytest.skip("no Label Studio: set LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY or provide .ci/labelstudio.sh")
    env_file = folder / "ls.env"
    p = subprocess.run(["bash", str(SCRIPT), "start", str(env_file)], capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        pytest.fail(f"could not start Label Studio:\n{p.stderr[-3000:]}")
    try:
        yield _read_env_file(env_file)
    finally:
        p = subprocess.run(["bash", str(SCRIPT), "stop", str(env_file)], capture_output=True, text=True, timeout=120)
        if p.returncode != 0 or "stopped label-studio" not in p.stderr:
            warnings.warn(f"Label Studio may still run: {p.stderr.strip()[-500:]}", stacklevel=1)


@pytest.fixture(scope="session")
def ls_server(tmp_path_factory) -> Iterator[LSServer]:
    """The server: from the environment, or started here (and stopped at session end)."""
    names = ("LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY", "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT",
             "ANNOVER_TEST_LS_ANNOTATOR2_KEY", "ANNOVER_TEST_LS_ANNOTATOR2_EMAIL")
    saved = {k: os.environ.get(k) for k in names}
    with ExitStack() as stack:
        if not (os.environ.get("LABEL_STUDIO_URL") and os.environ.get("LABEL_STUDIO_API_KEY")):
            os.environ.update(stack.enter_context(started_labelstudio(tmp_path_factory.mktemp("labelstudio"))))
        e = os.environ
        try:
            yield LSServer(e["LABEL_STUDIO_URL"], e["LABEL_STUDIO_API_KEY"], e.get("ANNOVER_TEST_LS_ANNOTATOR2_KEY"),
                           e.get("ANNOVER_TEST_LS_ANNOTATOR2_EMAIL"), e.get("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT"))
        finally:
            _restore(saved)


def _restore(saved: dict[str, str | None]) -> None:
    """Put the environment variables ``saved`` back as they were."""
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def ls(ls_server):
    """An annover Label Studio client (admin)."""
    return connect(ls_server.url, ls_server.api_key)


@pytest.fixture(scope="session")
def sdk_admin(ls_server):
    """The plain label-studio-sdk client, for doing what a person does in the UI."""
    return LabelStudio(base_url=ls_server.url, api_key=ls_server.api_key, timeout=300)


@pytest.fixture(scope="session")
def annotator2(ls_server, sdk_admin):
    """(sdk client acting as the second annotator, its email, completed_by for admin-made annotations).

    With annotator2's own token the client is theirs; without one, the admin annotates on
    their behalf with ``completed_by``.
    """
    users = {u.email: u.id for u in sdk_admin.users.list()}
    email = ls_server.annotator2_email or next((e for e in users if not e.startswith("admin")), None)
    if email is None or email not in users:
        pytest.skip("the Label Studio server has no second user")
    if ls_server.annotator2_key:
        return LabelStudio(base_url=ls_server.url, api_key=ls_server.annotator2_key, timeout=300), email, None
    return sdk_admin, email, users[email]


@pytest.fixture(scope="session")
def project_factory(ls, sdk_admin) -> Iterator[Callable[..., Any]]:
    """make(name, config) -> Project with a unique title; all are deleted at session end."""
    made: list[int] = []

    def make(name: str, config: str = TEXT_CONFIG) -> Any:
        title = f"t-{uuid.uuid4().hex[:8]}-{name}"
        p = Datasets(ls).create(title, config).project
        made.append(p.id)
        return p

    yield make
    for pid in made:
        try:
            sdk_admin.projects.delete(id=pid)
        except Exception:
            pass


@pytest.fixture
def data_dir(ls_server) -> Iterator[Path]:
    """A fresh folder below the server's local-files document root."""
    if not ls_server.document_root:
        pytest.skip("the server does not serve local files (LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT unset)")
    d = Path(tempfile.mkdtemp(prefix="annover-ls-data-", dir=ls_server.document_root))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def cli(*args: str, env: dict | None = None) -> tuple[int, str, str]:
    """The CLI in process through `run` (the real error handler); (exit code, stdout, stderr)."""
    with CliRunner().isolation(env=env) as (out, err, _):
        code = run(list(args))
        return code, out.getvalue().decode(), err.getvalue().decode()


def choice(value: str, from_name: str = "sentiment", to_name: str = "text") -> list[dict]:
    return [{"from_name": from_name, "to_name": to_name, "type": "choices", "value": {"choices": [value]}}]


def png_bytes(rgb: tuple[int, int, int]) -> bytes:
    """A valid 2x2 PNG of one colour (distinct colours give distinct files)."""
    def chunk(t: bytes, b: bytes) -> bytes:
        return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes(rgb) * 2 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
