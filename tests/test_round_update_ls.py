"""The daily loop's round, brought back with ``snapshot --update``, and the main project's pulls after it."""

from __future__ import annotations

import json
import uuid

import pytest
from label_studio_sdk import LabelStudio

from .ls_fixtures import TEXT_CONFIG, choice, cli, ls_server  # noqa: F401 - fixtures

pytestmark = pytest.mark.labelstudio


def test_a_pull_after_an_update_says_it_read_the_project_whole_for_heads_added_rows(ls_server, tmp_path, repo,
                                                                                    monkeypatch):  # noqa: F811
    """A round answered in its own project, brought back with ``--update``, then the main project pulled
    with ``--update`` (as the loop says) and once without it: the last pull warned "full pull: the project's
    annotations (3) do not add up to the 4 of HEAD and the tasks changed since; the whole project was read, so
    nothing is missed", as if the server had hidden a change. The real reason is that HEAD holds the round's
    answer beside the project's, which a version of the project alone leaves out: one warning says so."""
    monkeypatch.chdir(repo.root)
    sdk = LabelStudio(base_url=ls_server.url, api_key=ls_server.api_key, timeout=300)
    (tmp_path / "c.xml").write_text(TEXT_CONFIG)
    src = tmp_path / "t.jsonl"
    src.write_text("".join(json.dumps({"id": f"k{i}", "text": f"text {i}"}) + "\n" for i in range(6)))
    pids: list[int] = []
    try:
        for title in (f"t-{uuid.uuid4().hex[:8]}-main", f"t-{uuid.uuid4().hex[:8]}-round"):
            code, out, err = cli("dataset", "create", title, "--config", str(tmp_path / "c.xml"))
            assert code == 0, err
            pids.append(int(out.split()[0]))
            code, _, err = cli("dataset", "push", title, "--from", str(src), "--key", "data.id")
            assert code == 0, err
        main, rnd = (sdk.projects.get(id=p).title for p in pids)
        ids = [{t.data["id"]: t.id for t in sdk.tasks.list(project=p)} for p in pids]
        sdk.annotations.create(id=ids[0]["k0"], result=choice("pos"))
        sdk.annotations.create(id=ids[1]["k1"], result=choice("neg"))  # the round's answer
        for args, answer in (((main, "--key", "data.id"), "k2"), ((rnd, "--update"), "k3"), ((main, "--update"), "k4")):
            code, _, err = cli("snapshot", "--label-studio", *args, "-m", args[0])
            assert code == 0, err
            sdk.annotations.create(id=ids[0][answer], result=choice("neutral"))  # something new for each pull
        code, _, err = cli("snapshot", "--label-studio", main, "-m", "the main project alone")
        assert code == 0, err
        warnings = [x for x in err.splitlines() if x.startswith("warning:")]
        assert len(warnings) == 1 and "this version holds the project alone, read whole as HEAD is more than the " \
            "project" in warnings[0], err
        head, project = repo.show("HEAD").record, sdk.projects.get(id=pids[0])
        assert head["origin"]["sync"]["mode"] == "full"
        assert head["origin"]["sync"]["fetched_tasks"] == project.task_number
        assert head["stats"]["annotations"] == project.total_annotations_number, head["stats"]
    finally:
        for pid in pids:
            sdk.projects.delete(id=pid)
