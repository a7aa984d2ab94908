"""A version's labeling config, as a user gets it back: `annover show REV --config` prints it
(as `git show REV:FILE`), and `annover dataset create NAME --config REV` makes a Label Studio
project of it; in a repository, `dataset create NAME` alone takes HEAD's.

Was: the config a version recorded could be read only through the Python API
(`Repo.config_text`); `dataset create --config v1` was "no such file", and a project for a
version's tasks needed the config written out by hand first."""

from __future__ import annotations

import json
import uuid

import pytest

import annover

from .ls_fixtures import cli, ls, ls_server, sdk_admin  # noqa: F401 - fixtures

CONFIG_A = """<View>
  <!-- round 1: two labels; a comment and a non-ASCII label kept as written -->
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="négatif"/></Choices>
</View>
"""
CONFIG_B = CONFIG_A.replace('<Choice value="pos"/>', '<Choice value="pos"/><Choice value="mixed"/>')


def _snapshot(tmp_path, name: str, config: str, labels: dict[str, str]) -> str:
    (tmp_path / f"{name}.xml").write_text(config, encoding="utf-8")
    tasks = [{"id": i, "data": {"id": k, "text": f"text of {k}"},
              "annotations": [{"completed_by": 1, "result": [
                  {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [v]}}]}]}
             for i, (k, v) in enumerate(labels.items(), 1)]
    (tmp_path / f"{name}.json").write_text(json.dumps(tasks), encoding="utf-8")
    code, out, err = cli("snapshot", "--from", str(tmp_path / f"{name}.json"), "--config", str(tmp_path / f"{name}.xml"),
                         "--key", "data.id", "-m", name, "-q")
    assert code == 0, err
    return out.strip()


def test_show_config_prints_each_versions_config_as_recorded(repo, tmp_path):
    v1 = _snapshot(tmp_path, "a", CONFIG_A, {"r1": "pos"})
    v2 = _snapshot(tmp_path, "b", CONFIG_B, {"r1": "mixed"})
    for rev, text in (("v1", CONFIG_A), ("v2", CONFIG_B), ("HEAD~1", CONFIG_A), ("HEAD", CONFIG_B)):
        code, out, err = cli("show", rev, "--config")
        assert (code, err) == (0, "")
        assert out == text  # the bytes given, comment and all: nothing else on stdout
    code, out, _ = cli("show", "--config", "--json")
    got = json.loads(out)
    v = annover.Repo(repo.root).show(v2)
    assert got == {"version": v.id, "config": {"oid": v.record["config"]["oid"], "text": CONFIG_B}}
    assert v1 != v2


def test_show_config_of_a_version_without_one_is_exit_14_and_unknown_revision_7(repo, tmp_path):
    flat = tmp_path / "flat.jsonl"
    flat.write_text('{"task_key": "a", "from_name": "c", "label": "x"}\n')
    code, _, err = cli("snapshot", "--from", str(flat), "-m", "no config", "-q")
    assert code == 0, err
    code, out, err = cli("show", "--config")
    assert (code, out) == (14, "")
    assert "records no labeling config" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    code, out, err = cli("show", "v9", "--config")
    assert (code, out) == (7, "") and "unknown revision" in err


@pytest.mark.labelstudio
def test_dataset_create_takes_a_versions_config_and_heads_by_default(repo, tmp_path, sdk_admin):
    _snapshot(tmp_path, "a", CONFIG_A, {"r1": "pos"})
    _snapshot(tmp_path, "b", CONFIG_B, {"r1": "mixed"})
    made = []
    try:
        for args, rev, text in ((["--config", "v1"], "v1", CONFIG_A), ([], "HEAD", CONFIG_B)):
            title = f"version-config-{uuid.uuid4().hex[:8]}"
            code, out, err = cli("dataset", "create", title, *args)
            assert code == 0, err
            made.append(int(out.strip().splitlines()[-1]))
            assert f"note: the labeling config of version {rev} (" in err
            project = sdk_admin.projects.get(id=made[-1])
            labels = project.parsed_label_config["sentiment"]["labels"]
            assert sorted(labels) == sorted(_labels(text))
            assert (repo.dir / "datasets" / f"{title}.xml").read_text(encoding="utf-8").strip() == text.strip()
        # a name that is neither a file nor a version: exit 14, and no project is made
        before = {p.id for p in sdk_admin.projects.list()}
        code, _, err = cli("dataset", "create", f"version-config-{uuid.uuid4().hex[:8]}", "--config", "nofile.xml")
        assert code == 14 and "no such file, and no version of this repository" in err
        assert {p.id for p in sdk_admin.projects.list()} == before
    finally:
        for pid in made:
            sdk_admin.projects.delete(id=pid)


def _labels(config: str) -> list[str]:
    return [c.split('"')[0] for c in config.split('<Choice value="')[1:]]


@pytest.mark.labelstudio
def test_a_dataset_not_there_names_the_create_that_makes_it(repo, tmp_path, ls_server):  # noqa: F811
    _snapshot(tmp_path, "a", CONFIG_A, {"r1": "pos"})
    title = f"not made {uuid.uuid4().hex[:6]}"
    code, _, err = cli("dataset", "push", title, "--from", "v1")
    assert code == 14
    assert f"make it with `annover dataset create '{title}'` (in a repository: with HEAD's labeling config" in err
