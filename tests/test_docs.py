"""The README and docs/*.md as a newcomer reads them: every command and option they (and
annover's own messages and help texts) name exists, every option is documented, the
command table shows each command's options, and their Python blocks run as written against
real repositories (real git, DVC and, where the block uses it, the Label Studio server).
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import shutil
import subprocess
import uuid
from pathlib import Path

import click
import pytest

from annover.cli import main as cli
from annover.labelstudio import Datasets

from .conftest import EXAMPLES, ROOT
from .ls_fixtures import cli as run_cli, ls, ls_server, sdk_admin  # noqa: F401  (fixtures)

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: options every command has or that say nothing of what it does; not asked of the command table
UNIVERSAL = {"--json", "-q", "--quiet", "-h", "--help", "--force"}


def _commands() -> dict[str, click.Command]:
    """'snapshot', 'dataset push', ... -> the click command."""
    ctx = click.Context(cli)
    found: dict[str, click.Command] = {}

    def walk(group: click.Group, path: list[str]) -> None:
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            if isinstance(cmd, click.Group):
                walk(cmd, [*path, name])
            else:
                found[" ".join([*path, name])] = cmd
    walk(cli, [])
    return found


COMMANDS = _commands()
GROUPS = {name.split()[0] for name in COMMANDS if " " in name}


def _options(cmd: click.Command) -> set[str]:
    return {o for p in cmd.params if isinstance(p, click.Option) for o in (*p.opts, *p.secondary_opts)} | {
        "-h", "--help"}


def _snippets(path: Path) -> list[str]:
    """The `annover ...` a reader would type: backticked in prose (and in Python strings), and
    each line of a shell or console code block."""
    text = path.read_text(encoding="utf-8")
    found = re.findall(r"`(annover [^`\n]+)`", text)
    if path.suffix == ".md":
        fence = None
        for line in text.splitlines():
            if line.startswith("```"):
                fence = None if fence is not None else line[3:].strip()
            elif fence in ("", "sh", "console"):
                found.append(line.split(" #")[0].removeprefix("$ ").strip())
    return found


def _named(snippet: str) -> list[tuple[str | None, list[str], str]]:
    """(command name or None, the options written after it, the text) per `annover` in ``snippet``."""
    out = []
    for part in re.split(r"\s*(?:&&|\|\||\||;)\s*", snippet):
        words = part.split()
        if len(words) < 2 or words[0] != "annover" or not re.fullmatch(r"[a-z][a-z-]*", words[1]):
            continue  # `annover --help`, `annover COMMAND --help`, prose
        name = words[1] if words[1] in COMMANDS or words[1] not in GROUPS else None
        rest = words[2:]
        if words[1] in GROUPS:
            if len(words) < 3 or not re.fullmatch(r"[a-z][a-z-]*", words[2]):
                continue  # `annover dataset ...`, `annover dataset list|create|...`
            name, rest = f"{words[1]} {words[2]}", words[3:]
        flags = re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", " ".join(rest))
        out.append((name, flags, part))
    return out


def test_every_annover_command_that_docs_help_and_messages_name_exists():
    """A reader copies `annover X --flag` from the README, a doc, a --help text or an error
    message's hint: X is a command and --flag one of its options (`annover load` was named in
    the hint of `log --task` / `diff --task` for an unknown key: the function is annover.load)."""
    wrong = []
    for path in [*DOCS, *sorted((ROOT / "annover").rglob("*.py"))]:
        for snippet in _snippets(path):
            for name, flags, text in _named(snippet):
                if name not in COMMANDS:
                    wrong.append(f"{path.relative_to(ROOT)}: no command {text!r}")
                    continue
                unknown = [f for f in flags if f not in _options(COMMANDS[name])]
                if unknown:
                    wrong.append(f"{path.relative_to(ROOT)}: `annover {name}` has no {', '.join(unknown)}: {text!r}")
    assert not wrong, "\n".join(sorted(set(wrong)))


def test_every_option_of_every_command_is_documented():
    """`dataset create --description` was in --help only."""
    docs = "\n".join(p.read_text(encoding="utf-8") for p in DOCS)
    missing = [f"{name} {o}" for name, cmd in COMMANDS.items() for o in _options(cmd)
               if o.startswith("--") and o != "--help"
               and not any(re.search(re.escape(x) + r"(?![\w-])", docs) for x in _aliases(cmd, o))]
    assert not missing, missing


def _aliases(cmd: click.Command, opt: str) -> list[str]:
    """An option's names: `-m` documents `--message`."""
    for p in cmd.params:
        if isinstance(p, click.Option) and opt in (*p.opts, *p.secondary_opts):
            return [*p.opts, *p.secondary_opts]
    return [opt]


def _table_rows() -> dict[str, str]:
    """README's command table: command -> its row (the usage cell, and the docs the row links)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("| command | what it does |", 1)[1].split("\n\n", 1)[0]
    rows: dict[str, str] = {}
    for line in table.splitlines()[2:]:
        usage, _, what = line.strip("| ").partition(" | ")
        linked = "".join((ROOT / link).read_text(encoding="utf-8")
                         for link in set(re.findall(r"\]\((docs/[\w.-]+\.md)", what)))
        for name in set(re.findall(r"`annover (\w+)", usage)):
            rows[name] = rows.get(name, "") + usage + linked
    return rows


def test_the_command_table_shows_each_commands_options():
    """Each command's row (or the doc it links) names its options: `suspects --model`,
    `--resolve`, `-n` and `sample --model`, `--control`, `--no-record` were missing, and
    `diff --no-drift` was in neither its row nor docs/diff.md."""
    rows = _table_rows()
    missing = []
    for name, cmd in COMMANDS.items():
        if " " in name:
            continue  # `dataset ...` and `config ...`: one row each, their docs list the options
        row = rows.get(name)
        assert row, f"the README's command table has no row for `annover {name}`"
        for p in cmd.params:
            names = [*p.opts, *p.secondary_opts] if isinstance(p, click.Option) else []
            if names and not set(names) & UNIVERSAL and not any(
                    re.search(re.escape(o) + r"(?![\w-])", row) for o in names):
                missing.append(f"{name} {names[0]}")
    assert not missing, missing


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_help_has_examples_of_its_own_command(name):
    code, out, err = run_cli(*name.split(), "--help")
    assert code == 0, err
    examples = out.split("Examples:", 1)
    assert len(examples) == 2, f"`annover {name} --help` has no examples"
    assert f"annover {name}" in examples[1]
    # a shell line continued with a backslash in the epilog's Python string is joined into one
    # line with a run of spaces: `... && \<newline>    annover ...` shows as `&&     annover`
    joined = [line for line in examples[1].splitlines() if re.search(r"(&&|\|)\s{2,}annover ", line)]
    assert not joined, joined


# ---------------------------------------------------------------------------------------------
# Python blocks, run as written


def _python_block(doc: Path, heading: str) -> str:
    text = doc.read_text(encoding="utf-8")
    after = text[text.index(heading):]
    return re.search(r"```python\n(.*?)```", after, re.S).group(1)


def _exec(block: str, before: dict[str, callable] | None = None) -> dict:
    """Run ``block`` statement by statement (a failing one names its line); ``before`` maps a
    text a statement contains to what the reader did by hand before typing it."""
    names: dict = {}
    for node in ast.parse(block).body:
        source = ast.get_source_segment(block, node)
        for marker, step in (before or {}).items():
            if marker in source:
                step()
        try:
            exec(compile(ast.Module([node], []), "<doc>", "exec"), names)
        except Exception as e:  # noqa: BLE001
            raise AssertionError(f"{source!r} failed: {type(e).__name__}: {e}") from None
    return names


def test_the_diff_docs_python_block_runs_and_gives_its_numbers(two_rounds):
    block = _python_block(ROOT / "docs" / "diff.md", "In Python the command is one call")
    names = _exec(block)
    res = names["res"]
    said = ast.literal_eval(re.search(r'res\.summary\["annotations"\]\s+# (\{.*?\})', block).group(1))
    assert res.summary["annotations"] == said
    assert res.identical is False and bool(res)
    assert Path("diff.parquet").is_file()


def test_the_diff_docs_summary_is_what_the_sample_gives(two_rounds):
    """docs/diff.md shows `annover diff v1 v2` of the sample rounds: the same text, but ids."""
    text = (ROOT / "docs" / "diff.md").read_text(encoding="utf-8")
    shown = re.search(r"```\n(diff v1 \(.*?)```", text, re.S).group(1)
    code, out, err = run_cli("diff", "v1", "v2")
    assert code == 0, err
    ids = re.compile(r"\b[0-9a-f]{12}\b")
    assert ids.sub("ID", out).strip() == ids.sub("ID", shown).strip()


@pytest.mark.labelstudio
def test_the_readme_python_api_block_runs_as_written(tmp_path, monkeypatch, ls):  # noqa: F811
    """In a folder with the export and config it names, the README's Python API block runs line
    by line; its Label Studio line pulls a real project (round 2 of the sample, with its
    answers). `annover.export(..., "coco", ...)` of the sample's text labels and top-level calls
    without `repo=` outside the repository failed before."""
    pytest.importorskip("datasets")
    monkeypatch.chdir(tmp_path)
    shutil.copy(EXAMPLES / "round1.json", "export.json")
    shutil.copy(EXAMPLES / "labeling.xml", "labeling.xml")
    title = f"t-{uuid.uuid4().hex[:8]}-docs"
    datasets = Datasets(ls)
    # round 2 of the sample, answered by a user of this server (Label Studio refuses others)
    email = sorted(ls.users().values())[0]
    tasks = json.loads((EXAMPLES / "round2.json").read_text(encoding="utf-8"))
    for task in tasks:
        for answer in task.get("annotations", []):
            answer["completed_by"] = {"email": email}
    Path("round2.json").write_text(json.dumps(tasks), encoding="utf-8")
    datasets.create(title, config_file=str(EXAMPLES / "labeling.xml"))
    try:
        datasets.push(title, "round2.json", key="data.ext_id", annotations=True)
        block = _python_block(ROOT / "README.md", "## Python API").replace('"my-dataset"', repr(title))

        def branch() -> None:  # a reader's `git switch -c relabel v2` ... `git switch main`
            subprocess.run(["git", "branch", "relabel", "v2"], cwd="my-labels", check=True)
        names = _exec(block, {"repo.merge(": branch})
    finally:
        _forget(datasets, title)
    assert names["res"].tag == "v1" and names["v"].message == "round 2"
    assert Path("v2.json").is_file() and Path("v2.conll").is_file()
    assert names["m"].kind == "up-to-date"  # relabel (v2) is in HEAD's history


def _forget(datasets, title: str) -> None:
    """Delete the test's project, if it is there."""
    try:
        datasets.delete(title)
    except Exception:  # noqa: BLE001  (already deleted, or never made)
        pass


@pytest.mark.labelstudio
def test_the_label_studio_docs_python_block_runs_as_written(tmp_path, monkeypatch, ls):  # noqa: F811
    monkeypatch.chdir(tmp_path)
    title = f"t-{uuid.uuid4().hex[:8]}-reviews"
    Path("reviews.jsonl").write_text("".join(f'{{"id": "r{i}", "text": "review {i}"}}\n' for i in range(3)))
    Path("preds.jsonl").write_text("".join(
        f'{{"task_key": "r{i}", "model_version": "bert-v3", "score": 0.9, "result": [{{"from_name": "label", '
        f'"to_name": "text", "type": "choices", "value": {{"choices": ["pos"]}}}}]}}\n' for i in range(3)))
    block = _python_block(ROOT / "docs" / "label-studio.md", "## From Python").replace('"reviews"', repr(title))
    try:
        names = _exec(block)  # its last line deletes the project
    except AssertionError:
        _forget(Datasets(ls), title)
        raise
    assert names["r"].created
    assert Path("reviews-export.json").is_file() and Path("labeling.xml").is_file()


def test_what_q_keeps_is_what_the_readme_says(two_rounds):
    """The README said `-q` drops the summary and the notes of every command; the loop's commands
    and the dataset commands take it for their progress alone, as their --help says. The README
    now lists them; each of those says so in --help. export and gc are quiet as git -q is (Dec 8):
    export -q says no note and no "wrote" line (test_quiet_export)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sentence = re.search(r"The other commands that write a file or answer a question \((.*?)\) take `-q` for their "
                         r"progress alone", readme, re.S)
    assert sentence, "the README no longer says which commands keep their notes under -q"
    listed = re.findall(r"`([a-z]+(?: [a-z]+)?)`", sentence.group(1))
    assert {"sample", "report"} <= set(listed) and not {"export", "gc"} & set(listed)
    for name in listed:
        quiet = next(p for p in COMMANDS[name].params if "-q" in getattr(p, "opts", []))
        assert quiet.help.startswith("No progress"), (name, quiet.help)
    code, out, err = run_cli("export", "v2", "--format", "conll", "--resolve", "latest", "--out", "v2.conll", "-q")
    assert code == 0, err
    assert "note:" not in err and "wrote" not in err


@pytest.mark.labelstudio
def test_the_label_studio_quick_tour_runs_as_written(repo, ls, sdk_admin, monkeypatch):  # noqa: F811
    """docs/label-studio.md's first block, typed in a repository: create, push with predictions,
    annotate (a URL on a headless machine), two pulls with someone labeling in between, diff."""
    for display in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(display, raising=False)  # `dataset annotate` prints the URL, opens nothing
    title = f"t-{uuid.uuid4().hex[:8]}-reviews"
    Path("reviews.jsonl").write_text("".join(f'{{"id": "r{i}", "text": "review {i}"}}\n' for i in range(3)))
    Path("model-v3.jsonl").write_text("".join(
        f'{{"task_key": "r{i}", "model_version": "bert-v3", "score": 0.8, "result": [{{"from_name": "label", '
        f'"to_name": "text", "type": "choices", "value": {{"choices": ["neg"]}}}}]}}\n' for i in range(3)))
    text = (ROOT / "docs" / "label-studio.md").read_text(encoding="utf-8")
    lines = [shlex.split(ln.split(" #")[0]) for ln in re.search(r"```\n(annover dataset create.*?)```", text, re.S)
             .group(1).splitlines() if ln.strip()]
    try:
        for words in lines:
            if "round 2" in " ".join(words):  # "people label in the browser"
                task = next(iter(sdk_admin.tasks.list(project=Datasets(ls).get(title).id, fields="task_only")))
                sdk_admin.annotations.create(id=task.id, result=[{"from_name": "label", "to_name": "text",
                                             "type": "choices", "value": {"choices": ["pos"]}}])
            code, out, err = run_cli(*[title if w == "reviews" else w for w in words[1:]])
            assert code == 0, f"{' '.join(words)} -> {code}: {err}"
    finally:
        _forget(Datasets(ls), title)
    assert "+1 added" in out and "pos" in out  # the diff v1 v2: the one answer given in between


def test_every_output_file_option_has_the_short_form_o():
    """`report -o F` (as curl, gcc, sort) was "No such option '-o'": --out / --output had no short
    form on any command."""
    long_only = [f"{name} {o}" for name, cmd in COMMANDS.items() for p in cmd.params if isinstance(p, click.Option)
                 for o in p.opts if o in ("--out", "--output") and "-o" not in p.opts]
    assert not long_only, long_only
    assert any("-o" in p.opts for cmd in COMMANDS.values() for p in cmd.params if isinstance(p, click.Option))
