"""The per-user cache of label-studio-sdk's verdict on a labeling config."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from label_studio_sdk.label_interface import LabelInterface

from annover.errors import ConfigError
from annover.model.config import LabelingConfig, config_structure, verdict_path

from .conftest import DATA, EXAMPLES


def _summary(cfg: LabelingConfig) -> tuple:
    return cfg.summary(), dict(cfg.objects), dict(cfg.controls)


@pytest.mark.parametrize("xml", [DATA / "all_types.xml", EXAMPLES / "labeling.xml"])
def test_cached_verdict_equals_the_sdk(xml, tmp_path, monkeypatch):
    monkeypatch.setenv("ANNOVER_CACHE_DIR", str(tmp_path / "cache"))
    text = xml.read_text()
    path = verdict_path(text)
    assert not path.exists()
    first = LabelingConfig(text)  # asks the SDK, writes the verdict
    assert path.exists() and first.sdk_loaded and not first.from_cache
    second = LabelingConfig(text, background=True)  # from the cache: no SDK, no thread
    assert second.from_cache and not second.sdk_loaded
    assert _summary(second) == _summary(first)
    # the interface is still there when a caller needs the SDK's per-region checks
    assert second.li.__class__.__name__ == "LabelInterface"


def test_key_is_text_and_sdk_version(tmp_path, monkeypatch):
    monkeypatch.setenv("ANNOVER_CACHE_DIR", str(tmp_path))
    text = (EXAMPLES / "labeling.xml").read_text()
    assert verdict_path(text) == verdict_path(text)
    assert verdict_path(text) != verdict_path(text + " ")
    assert verdict_path(text).parent == tmp_path / "configs"


@pytest.mark.parametrize("damage", ["", "{", '{"controls": {}, "objects": {}}', '{"controls": 3}', "[1]",
                                    '{"format": 2, "controls": {"x": {"tag": "Choices", "to_name": [], "labels": [],'
                                    ' "choice": null, "per_region": false, "dynamic": false, "aliases": []}},'
                                    ' "objects": {}}'])
def test_damaged_entry_is_ignored(damage, tmp_path, monkeypatch):
    monkeypatch.setenv("ANNOVER_CACHE_DIR", str(tmp_path))
    text = (EXAMPLES / "labeling.xml").read_text()
    fresh = _summary(LabelingConfig(text))
    verdict_path(text).write_text(damage)
    cfg = LabelingConfig(text)
    assert cfg.sdk_loaded and not cfg.from_cache  # asked the SDK again
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
    code = ("import sys, annover; r = annover.Repo(sys.argv[1]); "
            "r.snapshot(sys.argv[2], config=sys.argv[3], message=sys.argv[4]); "
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
    assert verdict_path(cfg.read_text()).exists()


def test_no_home_folder_means_no_cache(monkeypatch):
    import pathlib

    monkeypatch.delenv("ANNOVER_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)

    def no_home(cls=None):
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(pathlib.Path, "home", classmethod(no_home))
    text = (EXAMPLES / "labeling.xml").read_text()
    assert verdict_path(text) is None
    assert "sentiment" in LabelingConfig(text).controls


ALIASES = ('<View><Image name="img" value="$image"/><RectangleLabels name="box" toName="img">'
           '<Label value="Cat" alias="c"/><Label value="Dog"/></RectangleLabels>'
           '<Choices name="ch" toName="img" choice="multiple"><Choice value="a"/><Choice value="b"/></Choices>'
           '<TextArea name="cap" toName="img" perRegion="true"/>'
           '<Choices name="dyn" toName="img" value="$options"/>'
           '<Text name="page" value="$url" valueType="url"/><Filter name="f" toName="box"/></View>')


@pytest.mark.parametrize("text", [(DATA / "all_types.xml").read_text(), (EXAMPLES / "labeling.xml").read_text(), ALIASES])
def test_the_model_reads_controls_and_objects_as_the_sdk_does(text):
    li = LabelInterface(text)
    cfg = LabelingConfig(text, validate=False)
    assert not cfg.sdk_loaded
    assert {n: (c.tag, c.to_name, c.labels) for n, c in cfg.controls.items()} == {
        c.name: (c.tag, tuple(c.to_name), tuple(c.labels or ())) for c in li.controls}
    assert cfg.fields == {o.name: str(o.value).lstrip("$") for o in li.objects}


def test_aliases_dynamic_labels_choice_and_objects_are_in_the_model(tmp_path, monkeypatch):
    monkeypatch.setenv("ANNOVER_CACHE_DIR", str(tmp_path))
    cfg = LabelingConfig(ALIASES)
    box, ch, cap, dyn = (cfg.controls[n] for n in ("box", "ch", "cap", "dyn"))
    assert box.labels == ("c", "Dog") and box.aliases == (("c", "Cat"),)
    assert ch.choice == "multiple" and ch.labels == ("a", "b") and not ch.dynamic
    assert cap.per_region and not box.per_region
    assert dyn.dynamic and dyn.labels == () and dyn.choice == "single"
    assert "f" not in cfg.controls  # a Filter is no control
    page = cfg.objects["page"]
    assert (page.tag, page.field, page.value_type) == ("Text", "url", "url")
    assert cfg.structure() == config_structure(ALIASES)
    assert cfg.structure()["box"] == {"tag": "RectangleLabels", "to_name": ["img"], "labels": ["c", "Dog"],
                                      "dynamic": False}
    cached = LabelingConfig(ALIASES)  # all of it comes back from the cache
    assert cached.from_cache and cached.controls == cfg.controls and cached.objects == cfg.objects
    assert config_structure(None) == {} and config_structure("") == {}
    with pytest.raises(ConfigError, match="not readable XML"):
        config_structure("<View>")
