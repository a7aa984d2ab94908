"""``annover merge REV --resolve FILE``: a merge's conflicts settled task by task, as a git user
settles conflicting paths one by one (``git checkout --ours/--theirs PATH``), with no
half-merged state on disk: a resolution that leaves a conflict out stops the merge (exit 16),
one that is wrong is refused (exit 3), and either way nothing is written.

The branches are built with real git, real DVC and the helpers of ``tests/test_merge.py``; the
property test checks that settling each conflict with a side gives, task by task, what
``--ours`` / ``--theirs`` give.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import annover
from annover.errors import MergeConflictError, UsageError
from annover.repo.merge_resolution import RECORDED, Resolution, check_against, resolution_of

from .conftest import ROOT, run_cli
from .test_merge import (BASE, KEY, Labels, _apply, _branches, _clean, _config, _edit, _init, _snap_any, _state,
                         _task, _tasks, _write)

#: main: t1 negative, t2 relabelled, t4 removed, t5 alice negative; b: t1 neutral, t4 bob
#: positive, t5 alice neutral. Conflicts: t1 and t5 (changed both ways), t4 (removed by ours).
OURS = _edit(BASE, t1=("one", {"alice@x.org": "negative"}), t2=("two", {"alice@x.org": "positive"}), t4=None,
             t5=("five", {"alice@x.org": "negative", "bob@x.org": "positive"}))
THEIRS = _edit(BASE, t1=("one", {"alice@x.org": "neutral"}), t4=("four", {"bob@x.org": "positive"}),
               t5=("five", {"alice@x.org": "neutral", "bob@x.org": "positive"}))


def _conflicting(tmp_path: Path, monkeypatch) -> Labels:
    lab = _init(tmp_path, monkeypatch)
    _branches(lab, OURS, THEIRS)
    return lab


def _file(lab: Labels, doc, name: str = "sides.json") -> Path:
    p = lab.inputs / name
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return p


def _origin(lab: Labels) -> dict:
    return annover.Repo(lab.root).show("HEAD").record["origin"]


def test_each_conflict_takes_the_side_the_file_gives_it(tmp_path, monkeypatch):
    lab = _conflicting(tmp_path, monkeypatch)
    sides = _file(lab, {"tasks": {"t1": "theirs", "t4": "ours", "t5": "theirs"}})
    p = run_cli("merge", "b", "--resolve", str(sides), "--dry-run", cwd=lab.root)
    assert p.returncode == 0, p.stderr
    assert "conflicts (3 settled by " in p.stderr and ": 1 from ours, 2 from theirs): 3 task(s)" in p.stderr, p.stderr
    assert "t1 (theirs): changed differently on both sides" in p.stderr and "t4 (ours): removed in ours" in p.stderr

    p = run_cli("merge", "b", "--resolve", str(sides), cwd=lab.root)
    assert p.returncode == 0, p.stderr
    # t1, t5: theirs' answers; t4: removed, as ours removed it; t2: ours' alone changed it
    assert lab.table() == _edit(BASE, t1=THEIRS["t1"], t2=OURS["t2"], t4=None, t5=THEIRS["t5"])
    origin = _origin(lab)
    assert origin["favor"] is None and origin["conflicts"] == 3
    assert origin["resolved"] == {"named": 3, "ours": 1, "theirs": 2,
                                  "tasks": {"t1": "theirs", "t4": "ours", "t5": "theirs"}}
    assert str(sides) not in json.dumps(origin) and "sides.json" not in json.dumps(origin)  # no path of the user's
    assert "3 conflict(s) settled one by one: 1 from ours, 2 from theirs" in run_cli("show", cwd=lab.root).stdout
    _clean(lab.root)


def test_conflicts_the_file_leaves_out_stop_the_merge_and_are_the_only_ones_listed(tmp_path, monkeypatch):
    lab = _conflicting(tmp_path, monkeypatch)
    sides = _file(lab, {"tasks": {"t1": "theirs"}})
    before = _state(lab)
    p = run_cli("merge", "b", "--resolve", str(sides), cwd=lab.root)
    assert p.returncode == 16, p.stderr
    lines = p.stderr.splitlines()
    assert f"  conflicts (1 settled by {sides}: 1 from theirs; 2 left): 3 task(s)" in lines, p.stderr
    assert any(ln.startswith("    t4: removed in ours") for ln in lines)
    assert any(ln.startswith("    t5: changed differently") for ln in lines)
    assert not any(ln.startswith("    t1") for ln in lines), p.stderr  # settled: not listed again
    assert f"2 task(s) differently, and {sides} names no side for them" in p.stderr and "nothing written" in p.stderr
    p = run_cli("merge", "b", "--resolve", str(sides), "--dry-run", "--json", cwd=lab.root)
    assert p.returncode == 16
    out = json.loads(p.stdout)
    assert {c["task_key"]: c["taken"] for c in out["conflicts"]} == {"t1": "theirs", "t4": None, "t5": None}
    with pytest.raises(MergeConflictError) as e:
        lab.repo.merge("b", resolve={"tasks": {"t1": "theirs"}})
    assert [c.task_key for c in e.value.result.unsettled] == ["t4", "t5"]
    assert _state(lab) == before
    _clean(lab.root)

    # --ours takes the conflicts the file leaves out
    p = run_cli("merge", "b", "--resolve", str(sides), "--ours", cwd=lab.root)
    assert p.returncode == 0, p.stderr
    assert f"conflicts (1 settled by {sides}: 1 from theirs; 2 taken from ours): 3 task(s)" in p.stderr, p.stderr
    assert lab.table() == _edit(BASE, t1=THEIRS["t1"], t2=OURS["t2"], t4=None, t5=OURS["t5"])
    origin = _origin(lab)
    assert origin["favor"] == "ours"
    assert origin["resolved"] == {"named": 1, "ours": 2, "theirs": 1,
                                  "tasks": {"t1": "theirs", "t4": "ours", "t5": "ours"}}
    _clean(lab.root)


def test_the_python_api_takes_a_resolution_as_a_dict(tmp_path, monkeypatch):
    lab = _conflicting(tmp_path, monkeypatch)
    res = lab.repo.merge("b", favor="theirs", resolve={"tasks": {"t4": "ours"}}, dry_run=True)
    assert {c.task_key: c.taken for c in res.conflicts} == {"t1": "theirs", "t4": "ours", "t5": "theirs"}
    assert not res.stops and not res.written
    res = lab.repo.merge("b", favor="theirs", resolve={"tasks": {"t4": "ours"}})
    assert res.written and lab.table() == _edit(BASE, t1=THEIRS["t1"], t2=OURS["t2"], t4=None, t5=THEIRS["t5"])


#: (the file's text, what the one-line error says after "Error: FILE: ")
BAD = [
    ('{"tasks": {"t1": "theirs",}}', "not valid JSON at line 1 column 27"),
    ("", "the file is empty"),
    ('["t1"]', "expected a JSON object, not a list"),
    ('{"t1": "theirs"}', '"t1": not a member of a resolution (tasks, config, source) — task keys go under "tasks"'),
    ('{"tasks": ["t1"]}', 'tasks: expected an object of task keys to "ours" or "theirs", not a list'),
    ('{"tasks": {"t1": "mine"}}', 'tasks: "t1": "mine" is not a side — write "ours"'),
    ('{"tasks": {"t1": null}}', 'tasks: "t1": null is not a side'),
    ('{"tasks": {"t1": "ours", "t1": "theirs"}}', 'tasks: "t1" is named twice'),
    ('{"tasks": {"t1": "ours"}, "tasks": {}}', '"tasks" is given twice'),
    ('{"tasks": {"t1": "ours", "t2": "theirs"}}', 'tasks: "t2": not a conflict of this merge of b (its 3 '
                                                  'conflicting task(s): "t1", "t4", "t5")'),
    # a key with an escape sequence: shown escaped, never sent to the terminal
    ('{"tasks": {"t\\u001b[31m": "ours"}}', 'tasks: "t\\u001b[31m": not a conflict'),
    ('{"config": "theirs"}', "config: the labeling config does not conflict in this merge of b (unchanged)"),
    ('{"source": "sideways"}', 'source: "sideways" is not a side'),
]


def test_a_bad_resolution_is_one_line_naming_the_file_and_field_and_nothing_is_written(tmp_path, monkeypatch):
    lab = _conflicting(tmp_path, monkeypatch)
    before = _state(lab)
    for i, (text, said) in enumerate(BAD):
        path = _file(lab, text)
        for extra in ((), ("--dry-run",), ("--theirs",))[:3 if i in (0, 9) else 1]:  # a side or a dry run: the same
            p = run_cli("merge", "b", "--resolve", str(path), *extra, cwd=lab.root)
            assert p.returncode == 3, (text, p.stderr)
            assert p.stderr.startswith(f"Error: {path}: {said}"), (text, p.stderr)
            assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr and "\x1b" not in p.stderr
    p = run_cli("merge", "b", "--resolve", str(lab.inputs / "absent.json"), cwd=lab.root)
    assert p.returncode == 14 and "absent.json: no such file (--resolve)" in p.stderr, p.stderr
    p = run_cli("merge", "b", "--resolve", "", cwd=lab.root)
    assert p.returncode == 2, p.stderr
    assert _state(lab) == before
    _clean(lab.root)

    # the Python API: the same checks, exit 2, naming resolve=
    for doc, said in (({"t1": "theirs"}, 'resolve=: "t1": not a member'),
                      ({"tasks": {"t1": "mine"}}, 'resolve=: tasks: "t1": "mine" is not a side'),
                      ({"tasks": {"t3": "ours"}}, 'resolve=: tasks: "t3": not a conflict'),
                      (["t1"], "resolve=: expected a JSON object, not a list")):
        with pytest.raises(UsageError) as e:
            lab.repo.merge("b", resolve=doc)
        assert e.value.exit_code == 2 and str(e.value).startswith(said), str(e.value)
    assert _state(lab) == before

    # no conflict to settle (already up to date after the merge): a name is a mistake too
    assert run_cli("merge", "b", "--theirs", cwd=lab.root).returncode == 0
    path = _file(lab, {"tasks": {"t1": "ours"}})
    p = run_cli("merge", "b", "--resolve", str(path), cwd=lab.root)
    assert p.returncode == 3 and "it has no conflicting task" in p.stderr, p.stderr
    assert run_cli("merge", "b", "--resolve", str(_file(lab, "{}")), cwd=lab.root).returncode == 0


def test_the_labeling_config_takes_the_side_the_file_gives_it(tmp_path, monkeypatch):
    lab = _init(tmp_path, monkeypatch)
    lab.snap(BASE, "base")
    lab.git("switch", "-q", "-c", "b")
    v_theirs = lab.snap(_edit(BASE, t1=("one", {"alice@x.org": "neutral"})), "config b",
                        config=_config(tmp_path, "mixed", "b.xml"))
    lab.git("switch", "-q", "main")
    lab.snap(_edit(BASE, t1=("one", {"alice@x.org": "negative"})), "config main",
             config=_config(tmp_path, "unsure", "main.xml"))
    before = _state(lab)
    tasks_only = _file(lab, {"tasks": {"t1": "ours"}}, "tasks.json")
    p = run_cli("merge", "b", "--resolve", str(tasks_only), cwd=lab.root)
    assert p.returncode == 16 and "both sides changed the labeling config differently" in p.stderr, p.stderr
    assert "labeling config: changed differently on both sides" in p.stderr and "    t1" not in p.stderr
    assert _state(lab) == before

    both = _file(lab, {"tasks": {"t1": "ours"}, "config": "theirs"}, "both.json")
    p = run_cli("merge", "b", "--resolve", str(both), "--json", cwd=lab.root)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["config"] == "conflict" and out["taken"] == {"config": "theirs"}
    repo = annover.Repo(lab.root)
    assert repo.show("HEAD").record["config"] == repo.show(v_theirs).record["config"]
    assert lab.table()["t1"] == ("one", {"alice@x.org": "negative"})
    assert _origin(lab)["resolved"] == {"named": 1, "ours": 1, "theirs": 0, "tasks": {"t1": "ours"}, "config": "theirs"}
    assert "the labeling config from theirs" in run_cli("show", cwd=lab.root).stdout
    _clean(lab.root)


def _link(lab: Labels, folder: str, tasks: dict) -> str:
    """A version of ``tasks`` whose source data is ``folder`` (committed first), on the current branch."""
    (lab.root / folder).mkdir()
    (lab.root / folder / "t1.txt").write_text(f"{folder}\n")
    lab.git("add", folder)
    lab.git("commit", "-q", "-m", f"the texts in {folder}")
    return lab.repo.snapshot(str(_write(lab, tasks)), key=KEY, source_data=folder, message=folder).version.id


def test_the_source_data_takes_the_side_the_file_gives_it(tmp_path, monkeypatch):
    lab = _init(tmp_path, monkeypatch)
    lab.snap(BASE, "base")
    lab.git("switch", "-q", "-c", "b")
    v_theirs = _link(lab, "texts-b", _edit(BASE, t1=("one", {"alice@x.org": "neutral"})))
    lab.git("switch", "-q", "main")
    _link(lab, "texts-main", _edit(BASE, t1=("one", {"alice@x.org": "negative"})))
    before = _state(lab)
    p = run_cli("merge", "b", "--resolve", str(_file(lab, {"tasks": {"t1": "theirs"}}, "t.json")), cwd=lab.root)
    assert p.returncode == 16 and "both sides changed the source data differently" in p.stderr, p.stderr
    assert _state(lab) == before
    res = lab.repo.merge("b", resolve={"tasks": {"t1": "ours"}, "source": "theirs"})
    assert res.source == "conflict" and res.taken == {"source": "theirs"}
    repo = annover.Repo(lab.root)
    assert repo.show("HEAD").record["source"] == repo.show(v_theirs).record["source"]
    assert lab.table()["t1"] == ("one", {"alice@x.org": "negative"})
    assert _origin(lab)["resolved"]["source"] == "theirs"
    _clean(lab.root)


def test_a_resolution_is_checked_against_the_source_data_as_against_the_config():
    """The source data follows the config's path (one value, :func:`merge_blob`); its checks, alone."""
    r = resolution_of({"source": "ours"})
    check_against(r, [], {"config": "unchanged", "source": "conflict"}, "b")
    with pytest.raises(UsageError, match="source: the source data does not conflict in this merge of b"):
        check_against(r, [], {"config": "conflict", "source": "theirs"}, "b")
    assert resolution_of(r) is r and isinstance(r, Resolution)


def test_many_conflicts_are_recorded_as_counts(tmp_path, monkeypatch):
    """Above RECORDED conflicting tasks the origin keeps how many each side took, not each task."""
    lab = _init(tmp_path, monkeypatch)
    n = RECORDED + 1
    base = {f"k{i:03}": (f"text {i}", {"alice@x.org": "positive"}) for i in range(n)}
    _branches(lab, {k: (t, {"alice@x.org": "negative"}) for k, (t, _) in base.items()},
              {k: (t, {"alice@x.org": "neutral"}) for k, (t, _) in base.items()}, base=base)
    sides = {k: ("theirs" if i % 3 == 0 else "ours") for i, k in enumerate(sorted(base))}
    res = lab.repo.merge("b", resolve={"tasks": sides})
    assert len(res.conflicts) == n
    resolved = _origin(lab)["resolved"]
    assert resolved == {"named": n, "ours": sum(s == "ours" for s in sides.values()),
                        "theirs": sum(s == "theirs" for s in sides.values())}
    table = lab.table()
    assert all(table[k][1]["alice@x.org"] == ("neutral" if s == "theirs" else "negative") for k, s in sides.items())


def test_the_documented_jq_one_liner_writes_a_resolution_the_merge_takes(tmp_path, monkeypatch):
    """docs/commands.md's one-liner, run as written: every conflict taken from ours."""
    lab = _conflicting(tmp_path, monkeypatch)
    doc = (ROOT / "docs" / "commands.md").read_text()
    line = next(ln.strip() for ln in doc.splitlines()
                if ln.strip().startswith("annover merge REV --dry-run --json | jq"))
    assert run_cli("merge", "b", "--dry-run", "--json", cwd=lab.root).returncode == 16
    assert line.endswith("> sides.json"), line
    shell = line.replace("annover merge REV", f"{sys.executable} -m annover merge b").replace(
        "> sides.json", f"> {lab.inputs / 'sides.json'}")
    p = subprocess.run(["sh", "-c", shell], cwd=lab.root, capture_output=True, text=True, env=os.environ)
    assert p.returncode == 0, p.stderr
    written = json.loads((lab.inputs / "sides.json").read_text())
    assert written == {"tasks": {"t1": "ours", "t4": "ours", "t5": "ours"}}
    assert run_cli("merge", "b", "--resolve", str(lab.inputs / "sides.json"), cwd=lab.root).returncode == 0
    assert lab.table() == _edit(BASE, t1=OURS["t1"], t2=OURS["t2"], t4=None, t5=OURS["t5"])


def test_merge_help_shows_resolve_with_examples():
    p = run_cli("merge", "--help")
    assert p.returncode == 0 and "--resolve FILE" in p.stdout
    assert "annover merge relabel --resolve sides.json" in p.stdout
    assert "from_entries" in p.stdout


def test_a_dry_run_with_a_side_still_stops_at_a_file_git_cannot_merge(tmp_path, monkeypatch):
    """A side settles tasks, not files: the dry run exits 16 as the merge itself would."""
    lab = _init(tmp_path, monkeypatch)
    _branches(lab, _edit(BASE, t1=("one", {"alice@x.org": "negative"})),
              _edit(BASE, t1=("one", {"alice@x.org": "neutral"})))
    for branch, text in (("b", "theirs\n"), ("main", "ours\n")):
        lab.git("switch", "-q", branch)
        (lab.root / "notes.md").write_text(text)
        lab.git("add", "notes.md")
        lab.git("commit", "-q", "-m", f"notes on {branch}")
    p = run_cli("merge", "b", "--theirs", cwd=lab.root)
    assert p.returncode == 16 and "git cannot merge 1 file(s)" in p.stderr
    p = run_cli("merge", "b", "--theirs", "--dry-run", cwd=lab.root)
    assert p.returncode == 16 and "git cannot merge: notes.md" in p.stderr, p.stderr


# ---------------------------------------------------------------- the rule, as a property


def _edits(base: dict):
    """A side: ``base`` with each task kept, removed or changed (text or answers; changes more
    likely than test_merge's sides, so that more examples conflict), and new tasks."""
    ops = st.sampled_from(("keep", "remove", "text", "answers", "answers"))
    return st.tuples(st.fixed_dictionaries({k: st.tuples(ops, _task) for k in base}),
                     st.dictionaries(st.sampled_from(("n0", "n1")), _task, max_size=2)).map(
        lambda e: {**_apply(base, e[0]), **e[1]}).filter(bool)


def _merged(lab: Labels, **how) -> tuple[dict, dict]:
    """(the table, the snapshot ids) of a merge of b made as ``how`` says, then undone."""
    lab.repo.merge("b", **how)
    table, tables = lab.table(), annover.Repo(lab.root).show("HEAD").record["tables"]
    lab.repo.reset("HEAD~1", force=True)  # (in process: the command's own tests run it as a process)
    return table, tables


@settings(max_examples=int(os.environ.get("ANNOVER_MERGE_EXAMPLES", "10")), deadline=None,
          derandomize=not os.environ.get("ANNOVER_MERGE_EXAMPLES"),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_a_side_for_every_conflict_is_what_ours_or_theirs_give_task_by_task(tmp_path_factory, data):
    """A resolution naming every conflict with one side gives what --ours / --theirs give (the same
    snapshot ids); naming each with a side of its own, each task is that side's merge of it."""
    base = data.draw(_tasks, "base")
    ours, theirs = data.draw(_edits(base), "ours"), data.draw(_edits(base), "theirs")
    tmp = tmp_path_factory.mktemp("resolve")
    lab = Labels(tmp / "repo", tmp / "inputs")
    annover.init(lab.root)
    lab.inputs.mkdir()
    v_base = lab.snap(base, "base")
    lab.git("switch", "-q", "-c", "b")
    _snap_any(lab, theirs, "theirs")
    lab.git("switch", "-q", "main")
    v_ours = _snap_any(lab, ours, "ours") or v_base
    plan = lab.repo.merge("b", dry_run=True)
    keys = [c.task_key for c in plan.conflicts] if plan.kind == "merge" else []
    event("conflicts" if keys else "no conflict")
    if not keys:
        return
    by_favor = {side: _merged(lab, favor=side) for side in ("ours", "theirs")}
    for side in ("ours", "theirs"):
        assert _merged(lab, resolve={"tasks": {k: side for k in keys}}) == by_favor[side]
    mixed = {k: data.draw(st.sampled_from(("ours", "theirs")), f"side of {k}") for k in keys}
    table, _ = _merged(lab, resolve={"tasks": mixed})
    for k in set(by_favor["ours"][0]) | set(by_favor["theirs"][0]):
        want = by_favor[mixed.get(k, "ours")][0].get(k)
        assert table.get(k) == want, k
    assert annover.Repo(lab.root).head() == v_ours
    _clean(lab.root)
