"""A command's process leaves out optional modules a library it uses would import for nothing:
``rfc3987_syntax`` (installed with Jupyter, for jsonschema's 'iri' format check) cost 0.9 s of CPU
in each command that checked a labeling config not seen before."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

from .conftest import EXAMPLES

CHECK = """
import sys
from annover.cli import without_slow_imports
from annover.errors import AnnoverError
from annover.model.config import LabelingConfig
without_slow_imports()
LabelingConfig(open(sys.argv[1]).read(), source="new.xml", background=True).wait()
try:
    LabelingConfig(open(sys.argv[2]).read(), source="bad.xml", background=True).wait()
    print("bad accepted")
except AnnoverError as e:
    print("bad refused")
print(" ".join(sorted(m for m in sys.modules if m.split(".")[0] in ("rfc3987_syntax", "label_studio_sdk"))))
"""


def _imported(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess, set[str]]:
    p = subprocess.run([sys.executable, "-X", "importtime", *args], cwd=cwd, capture_output=True, text=True)
    return p, {ln.rsplit("|", 1)[1].strip() for ln in p.stderr.splitlines() if ln.startswith("import time:")}


def _new_config(tmp_path: Path) -> Path:
    config = tmp_path / f"{uuid.uuid4().hex}.xml"  # a config no cache has seen: label-studio-sdk checks it
    config.write_text((EXAMPLES / "labeling.xml").read_text().replace(
        "<View>", f'<View><Header value="{uuid.uuid4().hex}"/>', 1))
    return config


def test_a_config_is_checked_by_the_sdk_without_the_modules_a_command_leaves_out(tmp_path):
    _, plain = _imported("-c", "import jsonschema", cwd=tmp_path)
    assert "rfc3987_syntax.syntax_helpers" in plain  # the premise: where it is installed, jsonschema imports it
    bad = tmp_path / "bad.xml"
    bad.write_text('<View><Text name="t" value="$text"/><Choices name="c" toName="t"></Choices></View>')
    p = subprocess.run([sys.executable, "-c", CHECK, str(_new_config(tmp_path)), str(bad)], cwd=tmp_path,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    verdict, modules = p.stdout.splitlines()
    assert verdict == "bad refused"  # the SDK's check still runs, and still refuses
    assert "label_studio_sdk.label_interface" in modules.split() and "rfc3987_syntax" not in modules.split()


def test_the_command_s_process_leaves_them_out(tmp_path):
    p, mods = _imported("-m", "annover", "config", "validate", str(_new_config(tmp_path)), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "label_studio_sdk.label_interface.interface" in mods  # the SDK's check ran
    assert "rfc3987_syntax.syntax_helpers" not in mods  # its import was refused before it began
