"""Every command's ``--json`` output has a written contract in schemas/, and keeps to it.

The commands run for real (real git, a real DVC local remote, the running Label Studio for the
``dataset`` commands) in the states that give their output different shapes: a repository with
no version yet, nothing to push, a merge that stops at a conflict, a range of versions... Each
document is validated against ``schemas/COMMAND.schema.json`` (``dataset list`` ->
``dataset-list.schema.json``). A walk of the click command tree makes sure every command with
a ``--json`` option has its schema, and that each schema is checked by at least one run here.
"""

from __future__ import annotations

import json
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import click
import jsonschema
import pytest
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from annover.cli import main

from .conftest import EXAMPLES, git
from .ls_fixtures import cli, ls_server, sdk_admin  # noqa: F401  (the fixtures)
from .test_report import make_round

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
#: the base the schemas' ``$id``\ s share: one refers to another by its file name
BASE = "https://annover.dev/schemas/"
#: schemas in schemas/ that describe no command's --json (stored files, and the definitions the others share)
NOT_COMMANDS = {"version.schema.json", "snapshot.schema.json", "common.schema.json"}


def json_commands() -> list[str]:
    """The commands with a ``--json`` option, as typed after ``annover`` (``dataset list``)."""
    found = []

    def walk(cmd: click.Command, path: list[str], parent: click.Context | None) -> None:
        ctx = click.Context(cmd, info_name=path[-1] if path else "annover", parent=parent)
        if isinstance(cmd, click.Group):
            for name in cmd.list_commands(ctx):
                walk(cmd.get_command(ctx, name), [*path, name], ctx)
        elif any("--json" in getattr(p, "opts", []) for p in cmd.params):
            found.append(" ".join(path))

    walk(main, [], None)
    return found


#: the command whose schema file is named otherwise: snapshot.schema.json is the stored manifest
RENAMED = {"snapshot": "snapshot-result.schema.json"}


def schema_file(command: str) -> str:
    """The file in schemas/ that describes ``annover COMMAND --json``."""
    return RENAMED.get(command, command.replace(" ", "-") + ".schema.json")


def _registry() -> Registry:
    """Every schema of schemas/, under its file's URL and under its own ``$id``."""
    reg: Registry = Registry()
    for p in SCHEMAS.glob("*.schema.json"):
        res = DRAFT202012.create_resource(json.loads(p.read_text()))
        reg = reg.with_resource(BASE + p.name, res)
        if res.id():
            reg = reg.with_resource(res.id(), res)
    return reg


REGISTRY = _registry()


def validator(command: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / schema_file(command)).read_text())
    return jsonschema.Draft202012Validator(schema, registry=REGISTRY)


# ---------------------------------------------------------------- the runs


class Runs(dict):
    """case -> (command, exit code, stdout), for the commands run with --json."""

    def run(self, case: str, command: str, *args: str, code: int = 0) -> dict | list:
        assert case not in self, case
        got, out, err = cli(*command.split(), *args, "--json")
        assert got == code, f"{case}: annover {command} {' '.join(args)} -> {got}\n{err}"
        self[case] = (command, got, out)
        return json.loads(out)


def _ls_file(tasks: list[dict], path: Path, label: dict[str, str]) -> Path:
    """``tasks`` with the sentiment of the first answer of each task named in ``label`` replaced."""
    out = json.loads(json.dumps(tasks))
    for t in out:
        new = label.get(t["data"]["ext_id"])
        if new is not None:
            for r in t["annotations"][0]["result"]:
                if r["from_name"] == "sentiment":
                    r["value"]["choices"] = [new]
    path.write_text(json.dumps(out))
    return path


def _history(runs: Runs, root: Path) -> None:
    """init, snapshots (and their dry runs), status, push and pull, with and without a git remote."""
    runs.run("status-empty", "status")
    runs.run("snapshot-dry-run-empty", "snapshot", "--from", "round1.json", "--config", "labeling.xml",
             "--key", "data.ext_id", "--dry-run")
    runs.run("snapshot", "snapshot", "--from", "round1.json", "--config", "labeling.xml", "--key", "data.ext_id",
             "-m", "round 1")
    runs.run("snapshot-unchanged", "snapshot", "--from", "round1.json", "-m", "again")
    runs.run("snapshot-dry-run", "snapshot", "--from", "round2.json", "--dry-run")
    runs.run("snapshot-2", "snapshot", "--from", "round2.json", "-m", "round 2")
    runs.run("status-unpushed", "status")
    runs.run("status-no-remote", "status", "--no-remote")
    runs.run("push", "push")
    runs.run("push-nothing", "push")
    runs.run("push-one", "push", "v1")
    runs.run("pull", "pull")
    bare = root.parent / "origin.git"
    git("init", "-q", "--bare", str(bare), cwd=root.parent)
    git("remote", "add", "origin", str(bare), cwd=root)
    runs.run("status-git-remote", "status")
    git("push", "-q", "-u", "origin", "HEAD", cwd=root)
    runs.run("status-pushed", "status")
    runs.run("pull-one", "pull", "v2")
    runs.run("snapshot-3", "snapshot", "--from", "round3.json", "-m", "round 3")
    runs.run("push-ahead", "push")


def _merges(runs: Runs, root: Path) -> None:
    """Two branches that changed one task differently: the dry run, the conflict, each side taken;
    then a fast-forward, and a merge that is up to date."""
    r3 = json.loads((root / "round3.json").read_text())
    git("switch", "-q", "-c", "theirs", cwd=root)
    _ls_file(r3, root / "theirs.json", {"rev-000": "neutral"})
    runs.run("snapshot-theirs", "snapshot", "--from", "theirs.json", "-m", "theirs")
    git("switch", "-q", "-", cwd=root)
    _ls_file(r3, root / "ours.json", {"rev-000": "negative", "rev-001": "neutral"})
    runs.run("snapshot-ours", "snapshot", "--from", "ours.json", "-m", "ours")
    runs.run("merge-dry-run-conflict", "merge", "theirs", "--dry-run", code=16)
    runs.run("merge-conflict", "merge", "theirs", code=16)
    runs.run("merge-dry-run", "merge", "theirs", "--ours", "--dry-run")
    runs.run("merge", "merge", "theirs", "--theirs", "-m", "merged")
    runs.run("merge-up-to-date", "merge", "theirs")
    git("switch", "-q", "-c", "ahead", cwd=root)
    _ls_file(r3, root / "ahead.json", {"rev-002": "neutral"})
    runs.run("snapshot-ahead", "snapshot", "--from", "ahead.json", "-m", "ahead")
    git("switch", "-q", "-", cwd=root)
    runs.run("merge-fast-forward", "merge", "ahead")


def _names(runs: Runs, root: Path) -> None:
    """log, show, tag (and its list, -d, --prune), revert and reset."""
    runs.run("log", "log")
    runs.run("log-task", "log", "--task", "rev-000", "-p")
    runs.run("show", "show")
    runs.run("show-merge", "show", "HEAD~1")
    runs.run("show-config", "show", "--config")
    runs.run("tag", "tag", "reviewed", "v2")
    runs.run("tag-moved", "tag", "reviewed", "v3", "--force")
    runs.run("tag-list", "tag")
    runs.run("tag-delete", "tag", "-d", "reviewed")
    git("switch", "-q", "-c", "gone", cwd=root)
    _ls_file(json.loads((root / "round3.json").read_text()), root / "gone.json", {"rev-003": "neutral"})
    runs.run("snapshot-gone", "snapshot", "--from", "gone.json", "-m", "on a branch deleted next")
    git("switch", "-q", "-", cwd=root)
    git("branch", "-q", "-D", "gone", cwd=root)
    runs.run("status-stray-tag", "status")
    runs.run("tag-prune-dry-run", "tag", "--prune", "-n")
    runs.run("tag-prune", "tag", "--prune")
    runs.run("revert", "revert")
    runs.run("revert-unchanged", "revert", "--to", "HEAD")
    runs.run("reset-dry-run", "reset", "HEAD~1", "--dry-run")
    runs.run("reset", "reset", "HEAD~1", "--force")
    runs.run("reset-nothing", "reset", "HEAD")


def _outputs(runs: Runs, root: Path) -> None:
    """export, gc and the loop's commands, of one version and of ranges."""
    runs.run("export", "export", "v3", "--format", "csv", "--out", "out/v3.csv")
    runs.run("export-tasks", "export", "v3", "--format", "jsonl", "--out", "out/v3.jsonl", "--task", "rev-000",
             "--task", "no-such-task")
    runs.run("export-train", "export", "v3", "--format", "conll", "--resolve", "majority", "--out", "out/v3.conll")
    runs.run("gc-dry-run", "gc")
    runs.run("gc", "gc", "--force")
    runs.run("agreement", "agreement", "v3")
    runs.run("agreement-range", "agreement", "v1..v3")
    runs.run("eval", "eval", "v3", "--model", "sentiment-bert-v1")
    runs.run("eval-two-models", "eval", "v3", "--model", "sentiment-bert-v1", "--model", "sentiment-bert-v2")
    runs.run("eval-range", "eval", "v1..v3", "--model", "sentiment-bert-v2")
    runs.run("suspects", "suspects", "v3")
    runs.run("suspects-since", "suspects", "v3", "--since", "v1", "--model", "sentiment-bert-v1")
    runs.run("sample", "sample", "v3", "--n", "3", "--strategy", "disagreement")
    runs.run("sample-not-recorded", "sample", "v3", "--n", "2", "--strategy", "uncertainty",
             "--model", "sentiment-bert-v2", "--no-record")
    runs.run("sample-stratified", "sample", "v3", "--n", "4", "--strategy", "random", "--stratify",
             "--control", "sentiment", "--no-record")
    runs.run("report", "report", "v3", "--out", "out/report.html")
    runs.run("report-range", "report", "v1..v3", "--out", "out/range.html")
    runs.run("diff", "diff", "v1", "v3")
    runs.run("diff-rows", "diff", "v2", "v3", "--rows", "--limit", "3")
    runs.run("config-list", "config list")
    runs.run("config-new", "config new", "ner", "--labels", "PER,ORG")
    runs.run("config-new-out", "config new", "image-classification", "--labels", "cat,dog",
             "--out", "out/pets.xml")
    runs.run("config-validate", "config validate", "labeling.xml")
    runs.run("init-again", "init")


@contextmanager
def _in_new_repo(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Path]:
    """A new folder (cwd) with the remotes, the cache and git's identity the tests use; not yet a repository."""
    root = tmp_path_factory.mktemp(name) / "repo"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANNOVER_REMOTE_HOME", str(tmp_path_factory.mktemp("remotes")))
        mp.setenv("ANNOVER_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        for who in ("AUTHOR", "COMMITTER"):
            mp.setenv(f"GIT_{who}_NAME", "Test Author")
            mp.setenv(f"GIT_{who}_EMAIL", "author@example.com")
        root.mkdir()
        mp.chdir(root)
        yield root


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Runs:
    """One repository taken through every state below, each command's --json kept."""
    out = Runs()
    with _in_new_repo(tmp_path_factory, "json") as root:
        out.run("init", "init")
        shutil.copy(EXAMPLES / "labeling.xml", root / "labeling.xml")
        for n, size in enumerate((20, 30, 40), start=1):
            (root / f"round{n}.json").write_text(json.dumps(make_round(size, n)))
        _history(out, root)
        _merges(out, root)
        _names(out, root)
        _outputs(out, root)
    return out



#: the cases :func:`runs` makes, in its order
CASES = ["init", "status-empty", "snapshot-dry-run-empty", "snapshot", "snapshot-unchanged", "snapshot-dry-run",
         "snapshot-2", "status-unpushed", "status-no-remote", "push", "push-nothing", "push-one", "pull",
         "status-git-remote", "status-pushed", "pull-one", "snapshot-3", "push-ahead",
         "snapshot-theirs", "snapshot-ours", "merge-dry-run-conflict", "merge-conflict", "merge-dry-run", "merge",
         "merge-up-to-date", "snapshot-ahead", "merge-fast-forward",
         "log", "log-task", "show", "show-merge", "show-config", "tag", "tag-moved", "tag-list", "tag-delete",
         "snapshot-gone", "status-stray-tag", "tag-prune-dry-run", "tag-prune", "revert", "revert-unchanged",
         "reset-dry-run", "reset", "reset-nothing",
         "export", "export-tasks", "export-train", "gc-dry-run", "gc", "agreement", "agreement-range", "eval",
         "eval-two-models", "eval-range", "suspects", "suspects-since", "sample", "sample-not-recorded",
         "sample-stratified", "report", "report-range", "diff", "diff-rows", "config-list", "config-new",
         "config-new-out", "config-validate", "init-again"]


def check(runs: Runs, case: str) -> None:
    command, code, out = runs[case]
    errors = sorted(validator(command).iter_errors(json.loads(out)), key=lambda e: list(e.absolute_path))
    assert not errors, f"{case}: annover {command} --json\n" + "\n".join(
        f"  at {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:300]}" for e in errors[:10])


@pytest.mark.parametrize("case", CASES)
def test_each_output_validates(runs, case):
    check(runs, case)


def test_the_cases_are_those_listed_and_each_command_is_run(runs):
    assert list(runs) == CASES
    run = {command for command, _, _ in runs.values()}
    assert run == {c for c in json_commands() if not c.startswith("dataset ")}


def test_every_command_with_json_has_its_schema():
    """The walk of the command tree: a new command with --json fails here until schemas/ describes it."""
    commands = json_commands()
    assert {"status", "merge", "dataset push", "config validate"} <= set(commands)  # the walk sees subcommands
    for command in commands:
        path = SCHEMAS / schema_file(command)
        assert path.is_file(), f"`annover {command} --json` has no schema: write schemas/{path.name}"
        doc = json.loads(path.read_text())
        jsonschema.Draft202012Validator.check_schema(doc)
        assert doc["$id"] == BASE + path.name and doc["title"] == f"annover {command}", path.name
    described = {schema_file(c) for c in commands} | NOT_COMMANDS
    assert {p.name for p in SCHEMAS.glob("*.schema.json")} == described


def test_every_schema_is_listed_in_the_readme():
    readme = (SCHEMAS / "README.md").read_text()
    for p in SCHEMAS.glob("*.schema.json"):
        assert f"`{p.name}`" in readme or f"`{p.name.removesuffix('.schema.json')}`" in readme, p.name


@pytest.mark.parametrize("case", ["status-unpushed", "merge-conflict", "sample", "show", "eval-range", "tag-list"])
def test_a_field_not_described_or_missing_is_refused(runs, case):
    """The schemas are closed, as the existing ones: a field the contract does not name fails, and
    so does a required one left out."""
    command, _, out = runs[case]
    doc = json.loads(out)
    entry = doc[0] if isinstance(doc, list) else doc
    if case == "eval-range":
        entry = doc["versions"][-1]
    v = validator(command)
    entry["not_in_the_contract"] = 1
    assert not v.is_valid(doc)
    del entry["not_in_the_contract"]
    assert v.is_valid(doc)
    entry.pop(next(iter(entry)))
    assert not v.is_valid(doc)


def test_the_readmes_registry_lines_validate_a_document(runs, monkeypatch):
    """schemas/README.md shows how a reader without annover loads the schemas: those lines, run."""
    readme = (SCHEMAS / "README.md").read_text()
    block = readme.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(SCHEMAS.parent)
    doc = json.loads(runs["status-pushed"][2])
    scope = {"json": json, "Path": Path, "Registry": Registry, "DRAFT202012": DRAFT202012,
             "Draft202012Validator": jsonschema.Draft202012Validator, "doc": doc}
    exec(block, scope)  # noqa: S102 - the README's own lines
    doc["pushed"] = "yes"
    with pytest.raises(jsonschema.ValidationError):
        exec(block, scope)  # noqa: S102


# ---------------------------------------------------------------- the dataset commands, against Label Studio


#: the cases :func:`ls_runs` makes, in its order
LS_CASES = ["dataset-create", "dataset-create-found", "dataset-push-dry-run", "dataset-push", "dataset-push-again",
            "dataset-list", "dataset-stats", "dataset-annotate", "dataset-export", "snapshot-label-studio",
            "sample-random", "dataset-push-sample", "dataset-delete", "dataset-create-other",
            "dataset-delete-gone"]


@pytest.fixture(scope="module")
def ls_runs(ls_server, sdk_admin, tmp_path_factory) -> Iterator[Runs]:  # noqa: F811
    """A repository bound to two Label Studio projects: made, filled, read, exported and deleted."""
    title, other = (f"t-{uuid.uuid4().hex[:8]}-{n}" for n in ("json", "json-gone"))
    out = Runs()
    try:
        with _in_new_repo(tmp_path_factory, "json-ls") as root:
            assert cli("init", "-q")[0] == 0
            shutil.copy(EXAMPLES / "labeling.xml", root / "labeling.xml")
            someone = next(u.email for u in sdk_admin.users.list())  # --annotations sends answers of its users
            tasks = json.loads((EXAMPLES / "round1.json").read_text())
            for a in (a for t in tasks for a in t["annotations"]):
                a["completed_by"]["email"] = someone
            (root / "round1.json").write_text(json.dumps(tasks))
            pid = out.run("dataset-create", "dataset create", title, "--config", "labeling.xml")["id"]
            out.run("dataset-create-found", "dataset create", title, "--config", "labeling.xml")
            out.run("dataset-push-dry-run", "dataset push", title, "--from", "round1.json", "--key", "data.ext_id",
                    "--annotations", "--dry-run")
            out.run("dataset-push", "dataset push", title, "--from", "round1.json", "--key", "data.ext_id",
                    "--annotations")
            out.run("dataset-push-again", "dataset push", title, "--from", "round1.json")
            out.run("dataset-list", "dataset list")
            out.run("dataset-stats", "dataset stats", title)
            out.run("dataset-annotate", "dataset annotate", str(pid), "--no-browser")
            out.run("dataset-export", "dataset export", title, "--out", "export.json", "--config-out", "export.xml")
            out.run("snapshot-label-studio", "snapshot", "--label-studio", title, "-m", "from Label Studio")
            sample = out.run("sample-random", "sample", "--strategy", "random", "--n", "3")["id"]
            out.run("dataset-push-sample", "dataset push", title, "--from-sample", sample)
            out.run("dataset-delete", "dataset delete", title, "--yes")
            gone = out.run("dataset-create-other", "dataset create", other, "--config", "labeling.xml")["id"]
            sdk_admin.projects.delete(id=gone)  # deleted in Label Studio's UI: only its record is left here
            out.run("dataset-delete-gone", "dataset delete", other, "--yes")
        yield out
    finally:
        for p in sdk_admin.projects.list():
            if p.title in (title, other):
                sdk_admin.projects.delete(id=p.id)


@pytest.mark.labelstudio
@pytest.mark.parametrize("case", LS_CASES)
def test_each_dataset_output_validates(ls_runs, case):
    check(ls_runs, case)


@pytest.mark.labelstudio
def test_the_dataset_cases_are_those_listed_and_each_dataset_command_is_run(ls_runs):
    assert list(ls_runs) == LS_CASES
    run = {command for command, _, _ in ls_runs.values()}
    assert {c for c in json_commands() if c.startswith("dataset ")} <= run
    shapes = {case: json.loads(out) for case, (_, _, out) in ls_runs.items()}
    assert shapes["dataset-create"]["created"] and not shapes["dataset-create-found"]["created"]
    assert shapes["dataset-push-sample"]["sample"]["sample"] == shapes["sample-random"]["id"]
    assert shapes["dataset-delete"]["deleted"] and not shapes["dataset-delete-gone"]["deleted"]
