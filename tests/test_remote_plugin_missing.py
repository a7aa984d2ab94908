"""A DVC remote whose plugin (dvc-ssh, dvc-hdfs...) is not installed: push, pull and status each say
so in one line, exit 10, with what to install. pull said "unexpected ImportError ... a bug in annover"
(exit 1): DVC builds the remote's file system for the checkout too. Real git and DVC."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from .test_cli import invoke

#: remote types whose DVC plugin is a package of its own: the first not installed is the one tested
PLUGINS = {"ssh": "dvc_ssh", "hdfs": "dvc_hdfs", "gdrive": "dvc_gdrive", "oss": "dvc_oss", "webhdfs": "dvc_webhdfs"}


def _missing_plugin() -> str:
    return next(scheme for scheme, module in PLUGINS.items() if importlib.util.find_spec(module) is None)


def test_a_remote_without_its_dvc_plugin_is_one_line_with_what_to_install(two_rounds):
    repo = two_rounds[0]
    scheme = _missing_plugin()
    dvc = Path(sys.executable).with_name("dvc")
    subprocess.run([str(dvc), "remote", "add", "-f", "annover", f"{scheme}://127.0.0.1/labels"], cwd=repo.root,
                   check=True, capture_output=True)
    for command in ("pull", "push", "status"):
        code, out, err = invoke(command)
        assert code == 10, (command, code, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: no usable DVC remote"), (command, err)
        assert f"dvc-{scheme}" in err and "install the DVC plugin" in err and "bug" not in err, (command, err)
