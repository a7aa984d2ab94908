"""The per-user cache of label-studio-sdk's verdict on a labeling config."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from annover.errors import ConfigError
from annover.model.config import LabelingConfig, _verdict_path

from .conftest import DATA, EXAMPLES


def _summary(cfg: LabelingConfig) -> tuple:
    return cfg.summary(), dict(cfg.objects)


@pytest.mark.parametrize("xml", [DATA / "all_types.xml", EXAMPLES / "labeling.xml"])
def test_cached_verdict_equals_the_sdk(xml, tmp_path, monkeypatch):
    monkeypatch.setenv("ANNOVER_CACHE_DIR", str(tmp_path / "cache"))
    text = xml.read_text()
    path = _verdict_path(text)
    assert not path.exists()
    first = LabelingConfig(text)  # asks the SDK, writes the verdict
    assert path.exists() and first._li is not None
    second = LabelingConfig(text, background=True)  # from the cache: no SDK, no thread
    assert second._li is None and second._thread is None
    assert _summary(second) == _summary(first)
    # the interface is still there when a caller needs the SDK's per-region checks
    assert second.li.__class__.__name__ == "LabelInterface"


def test_key_is_text_and_sdk_version(tmp_path, monkeypatch):
    monkeypatch.setenv("ANNOVER_CACHE_DIR", str(tmp_path))
    text = (EXAMPLES / "labeling.xml").read_text()
    assert _verdict_path(text) == _verdict_path(text)
    assert _verdict_path(text) != _verdict_path(text + " ")
    assert _verdict_path(text).parent == tmp_path / "configs"


@pytest.mark.parametrize("damage", ["", "{", '{"controls": {}, "objects": {}}', '{"controls": 3}', "[1]"])
def test_damaged_entry_is_ignored(damage, tmp_path, monkeypatch):
    monkeypatch.setenv("ANNOVER_CACHE_DIR", str(tmp_path))
    text = (EXAMPLES / "labeling.xml").read_text()
    fresh = _summary(LabelingConfig(text))
    _verdict_path(text).write_text(damage)
    cfg = LabelingConfig(text)
    assert cfg._li is not None  # asked the SDK again
    assert _summary(cfg) == fresh


def test_invalid_config_is_not_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("ANNOVER_CACHE_DIR", str(tmp_path))
    text = '<View><Text name="t" value="$t"/><Choices name="c" toName="nowhere"><Choice value="a"/></Choices></View>'
    for _ in range(2):  # refused both times: a refusal is never remembered as a verdict
        with pytest.raises(ConfigError):
            LabelingConfig(text).wait()
    assert not (tmp_path / "configs").exists() or not any((tmp_path / "configs").iterdir())


def test_unwritable_cache_is_skipped(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("ANNOVER_CACHE_DIR", str(blocker))
    cfg = LabelingConfig((EXAMPLES / "labeling.xml").read_text())
    assert "sentiment" in cfg.controls  # works without a cache


def test_flat_snapshot_with_a_known_config_never_imports_the_sdk(repo, tmp_path):
    """A second snapshot with the same config: no label-studio-sdk import in the process."""
    flat = tmp_path / "flat.csv"
    flat.write_text("task_key,label\na,positive\nb,negative\n")
    cfg = repo.root / "labeling.xml"
    code = ("import sys, annover; from annover import porcelain as P; r = annover.Repo(sys.argv[1]); "
            "P.snapshot(r, sys.argv[2], config=sys.argv[3], message=sys.argv[4]); "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('label_studio_sdk'))))")
    code = "import json; " + code
    runs = []
    for i in range(2):
        flat.write_text(f"task_key,label\na,positive\nb,negative\nc{i},neutral\n")
        p = subprocess.run([sys.executable, "-c", code, str(repo.root), str(flat), str(cfg), f"round {i}"],
                           capture_output=True, text=True, cwd=repo.root)
        assert p.returncode == 0, p.stderr
        runs.append(json.loads(p.stdout.strip().splitlines()[-1]))
    assert runs[1] == []
    # and the first run, with an empty cache, did ask the SDK (unless an earlier test filled the cache)
    assert _verdict_path(cfg.read_text()).exists()


def test_no_home_folder_means_no_cache(monkeypatch):
    import pathlib

    monkeypatch.delenv("ANNOVER_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)

    def no_home(cls=None):
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(pathlib.Path, "home", classmethod(no_home))
    text = (EXAMPLES / "labeling.xml").read_text()
    assert _verdict_path(text) is None
    assert "sentiment" in LabelingConfig(text).controls
