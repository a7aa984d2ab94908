"""Label Studio Enterprise's fields pushed to Label Studio Community: real Enterprise exports of the shared
corpus carry a task's ``agreement`` and an answer's ``reviews`` / ``history``; Community drops them on import
(measured here: pushed, then read back with label-studio-sdk), so the next ``snapshot --label-studio --update``
recorded "task/answer attributes changed" that nobody made. ``dataset push`` now says so first, once: which
fields, on how many tasks and answers, and that the next pull records them as removed (also under ``warnings``
with ``--json``). Against the real Label Studio."""

from __future__ import annotations

import json
import uuid
from collections import Counter

import pytest

from .conftest import shared_corpus
from .ls_fixtures import cli, ls_server, sdk_admin  # noqa: F401 - fixtures

pytestmark = pytest.mark.labelstudio

CORPUS = shared_corpus("label-studio")


def _fields(tasks: list[dict]) -> tuple[Counter, Counter]:
    """How many tasks have an ``agreement``, how many answers ``reviews`` / ``history``."""
    on_tasks = Counter(f for t in tasks for f in ("agreement",) if f in t)
    on_answers = Counter(f for t in tasks for a in t["annotations"] for f in ("reviews", "history") if f in a)
    return on_tasks, on_answers


def _said(on_tasks: Counter, on_answers: Counter) -> list[str]:
    return ([f"task field(s) {', '.join(f'{f} ({n} task(s))' for f, n in sorted(on_tasks.items()))}"] +
            [f"answer field(s) {', '.join(f'{f} ({n} answer(s))' for f, n in sorted(on_answers.items()))}"])


@pytest.mark.parametrize("name", ["sdk_bbox_reviews_predictions", "sdk_history_sentiment"])
def test_push_says_first_which_enterprise_fields_label_studio_drops(ls_server, sdk_admin, repo,  # noqa: F811
                                                                    name, tmp_path):
    tasks = json.loads((CORPUS / f"{name}.json").read_text())
    me = sdk_admin.users.whoami().email
    for t in tasks:  # the annotators of the export are users of its server: here, the admin
        for a in t["annotations"]:
            a["completed_by"] = {**a["completed_by"], "email": me}
    src = tmp_path / f"{name}.json"
    src.write_text(json.dumps(tasks))
    on_tasks, on_answers = _fields(tasks)
    assert on_tasks["agreement"] == len(tasks) and on_answers["reviews"] >= 1
    xml = str(CORPUS / f"{name}.xml")
    code, _, err = cli("snapshot", "--from", str(src), "--config", xml, "-m", "enterprise export")
    assert code == 0, err
    title = f"t-{uuid.uuid4().hex[:8]}-{name}"
    code, out, err = cli("dataset", "create", title, "--config", xml)
    assert code == 0, err
    pid = int(out.split()[0])
    try:
        code, out, err = cli("dataset", "push", title, "--from", "v1", "--annotations", "--dry-run", "--json")
        assert code == 0, err
        (first, *_) = json.loads(out)["warnings"]
        assert all(s in first for s in _said(on_tasks, on_answers)) and "would be sent" in first, first
        code, out, err = cli("dataset", "push", title, "--from", "v1", "--annotations")
        assert code == 0, err
        lines = err.splitlines()
        said = [ln for ln in lines if "Label Studio keeps no" in ln]
        assert len(said) == 1 and lines[0] == said[0], err  # once, before the rest
        assert all(s in said[0] for s in _said(on_tasks, on_answers)), said
        assert f"next `annover snapshot --label-studio {title!r} --update` records them as removed" in said[0]
        # what the server kept: none of them (the measurement the warning rests on)
        back = [t.model_dump() for t in sdk_admin.tasks.list(project=pid, fields="all")]
        assert len(back) == len(tasks) and not any(t.get("agreement") is not None for t in back)
        for t in back:
            for a in t["annotations"]:
                full = sdk_admin.annotations.get(id=a["id"]).model_dump()
                assert full.get("reviews") is None and full.get("history") is None, full
        code, _, err = cli("snapshot", "--label-studio", title, "--update", "-m", "pulled")
        assert code == 0, err
        code, out, _ = cli("export", "v2", "--format", "label-studio", "--out", "-")
        assert _fields(json.loads(out)) == (Counter(), Counter())  # recorded as removed, as said
    finally:
        sdk_admin.projects.delete(id=pid)
