"""The daily loop's round, brought back with ``snapshot --update``, and the main project's pulls after it."""

from __future__ import annotations

import json
import uuid

import pytest
from label_studio_sdk import LabelStudio

from .ls_fixtures import TEXT_CONFIG, choice, cli, ls_server  # noqa: F401 - fixtures

pytestmark = pytest.mark.labelstudio


def _answers(repo, rev: str) -> dict[tuple[str, str], list]:
    t = repo.load(rev, "annotations")
    return {(k, a): lab for k, a, lab in zip(*(t.column(c).to_pylist() for c in ("task_key", "annotation_key",
                                                                                 "labels")))}


def test_a_plain_pull_of_the_main_project_keeps_the_rounds_answers(ls_server, tmp_path, repo,
                                                                   monkeypatch):  # noqa: F811
    """A round answered in its own project, brought back with ``--update``, then the main project pulled
    as every day, without ``--update``: the version was the main project alone, the round's answers left
    out with a warning a cron job's log hides. The pull keeps HEAD's rows of other projects' tasks beside
    the project's (a note says how many), the next pull of the project is incremental again and keeps
    them too, and what the project deleted is gone."""
    monkeypatch.chdir(repo.root)
    sdk = LabelStudio(base_url=ls_server.url, api_key=ls_server.api_key, timeout=300)
    (tmp_path / "c.xml").write_text(TEXT_CONFIG)
    src = tmp_path / "t.jsonl"
    src.write_text("".join(json.dumps({"id": f"k{i}", "text": f"text {i}"}) + "\n" for i in range(6)))
    (tmp_path / "round.jsonl").write_text("".join(src.read_text().splitlines(keepends=True)[:2]))
    pids: list[int] = []
    try:
        for title, tasks in ((f"t-{uuid.uuid4().hex[:8]}-main", src), (f"t-{uuid.uuid4().hex[:8]}-round",
                                                                      tmp_path / "round.jsonl")):
            code, out, err = cli("dataset", "create", title, "--config", str(tmp_path / "c.xml"))
            assert code == 0, err
            pids.append(int(out.split()[0]))
            code, _, err = cli("dataset", "push", title, "--from", str(tasks), "--key", "data.id")
            assert code == 0, err
        main, rnd = (sdk.projects.get(id=p).title for p in pids)
        ids = [{t.data["id"]: t.id for t in sdk.tasks.list(project=p)} for p in pids]
        gone = sdk.annotations.create(id=ids[0]["k0"], result=choice("pos")).id
        sdk.annotations.create(id=ids[0]["k1"], result=choice("pos"))
        assert cli("snapshot", "--label-studio", main, "-m", "main")[0] == 0
        sdk.annotations.create(id=ids[1]["k0"], result=choice("neg"))  # the round's answers: a review
        sdk.annotations.create(id=ids[1]["k1"], result=choice("neutral"))
        code, _, err = cli("snapshot", "--label-studio", rnd, "--update", "-m", "round")
        assert code == 0, err
        rounds = {k: v for k, v in _answers(repo, "HEAD").items() if v != ["pos"]}
        assert len(rounds) == 2, _answers(repo, "HEAD")
        sdk.annotations.create(id=ids[0]["k2"], result=choice("neg"))  # the main project goes on
        sdk.annotations.delete(id=gone)
        for step, new in (("main again", "k3"), ("main, the day after", None)):
            code, out, err = cli("snapshot", "--label-studio", main, "-m", step, "--json")
            assert code == 0, err
            assert "warning:" not in err, err
            doc = json.loads(out)
            assert any(n.startswith("kept 2 answer(s) HEAD has on tasks of other projects than")
                       for n in doc["notes"]), doc["notes"]
            got = _answers(repo, "HEAD")
            assert rounds.items() <= got.items(), got
            assert [v for (t, _), v in got.items() if t == "k2"] == [["neg"]], got
            assert [v for (t, _), v in got.items() if t == "k0"] == [["neg"]], got  # main's answer was deleted
            head = repo.show("HEAD").record
            assert head["stats"]["annotations"] == sdk.projects.get(id=pids[0]).total_annotations_number + 2
            if new:
                sdk.annotations.create(id=ids[0][new], result=choice("pos"))
        assert head["origin"]["sync"]["mode"] == "incremental" and head["origin"]["sync"]["fetched_tasks"] == 1, \
            head["origin"]
        code, _, err = cli("snapshot", "--label-studio", rnd, "--dry-run", "-m", "the round in the main's place")
        assert code == 0 and "without the 2 answer(s) HEAD kept from other projects" in err, err
    finally:
        for pid in pids:
            sdk.projects.delete(id=pid)
