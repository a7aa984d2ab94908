"""Every example line of every ``--help`` page runs as a user copies it.

The lines are read from the help as a user reads it (after ``Examples:``). Every command of every line must parse
(click's usage errors: an option that is gone, a bad value, a missing argument). Those the samples can satisfy then
run in process, page by page in order, in a copy of a sample repository: the sentiment sample (v1, v2, v3 on main,
a branch ``relabel`` whose version conflicts with v3, a git remote ``origin`` at v2, a second DVC remote ``backup``)
or, for the image formats, the shared corpus's Roboflow COCO file with its images. Only what a user fills in is
replaced (a file the sample lacks, a model's name); each must exit 0, or the code its line documents. Label Studio
examples (``dataset``, ``--label-studio``) only parse: run live, the dataset pages took 12 s more (of 40 s).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from pathlib import Path
from typing import Iterator

import click
import pytest
from click.testing import CliRunner
from PIL import Image

import annover
from annover.cli import main, run

from .conftest import EXAMPLES, example_repo, git, shared_corpus

#: what a user fills in: the sample's own names for them (a word of the example -> its replacement)
FILLED = {"export.json": "round1.json", "round3.json": "round2.json", "v5": "v3", "v1..v5": "v1..v3",
          "v7": "relabel", "review": "relabel", "bert-v2": "sentiment-bert-v1", "yolo-v8": "sentiment-bert-v1",
          "img_042.jpg": "rev-003", "img_042": "rev-003", "annotator:ann@example.com": "annotator:alice@example.com",
          "alice": "alice@example.com", "data/": "data"}

#: the detection sample's (image formats: COCO, YOLO, VOC, an image folder)
DETECTION = {"v3": "v1"}
IMAGE_FORMATS = ("--format coco", "--format yolo", "--format voc", "--images")

#: lines the samples cannot satisfy: they only parse (Label Studio; an S3 bucket; another format's input; a model
#: or a sample the sample has not; a question asked on a terminal)
UNSATISFIED = ("annover dataset ", "--label-studio", "s3://", "instances.json", "yolo-folder", "v3-hf -m",
               "ui-export.json", "labels.csv", "--predictions yolov8-2024", "--model bert-v1 --model bert-v2",
               "annover reset v2  ", "--source data/images")

#: the pages whose lines each run on the sample as it is (a folder of its own for each)
ONE_BY_ONE = ("init", "merge")

#: a file a page's examples write that the sample has: the page runs without it
WRITTEN = {"config": "labeling.xml", "config new": "labeling.xml"}


def _pages():
    """(command path, help text) of every command and subcommand, as ``annover ... --help`` prints them."""
    def walk(cmd: click.Command, path: list[str], parent: click.Context | None):
        ctx = click.Context(cmd, info_name=path[-1] if path else "annover", parent=parent)
        yield path
        for name in cmd.list_commands(ctx) if isinstance(cmd, click.Group) else []:
            yield from walk(cmd.get_command(ctx, name), [*path, name], ctx)
    for path in walk(main, [], None):
        yield path, CliRunner().invoke(main, [*path, "--help"], terminal_width=200).output


def examples(text: str) -> list[str]:
    """The command lines under ``Examples:`` (a line continued with ``\\`` joined to the next)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "Examples:")
    indent = len(lines[start]) - len(lines[start].lstrip())
    found, held = [], ""
    for line in lines[start + 1:]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        line = f"{held} {line.strip()}".strip()
        held = line[:-1] if line.endswith("\\") else ""
        if not held and line.startswith("annover "):
            found.append(line)
    return found


CHESS = shared_corpus("formats") / "coco_chess_roboflow.json"
TEXTS = {" ".join(path) or "annover": text for path, text in _pages()}
PAGES = [(page, examples(text)) for page, text in TEXTS.items()]


def _words(line: str) -> list[str]:
    return shlex.split(line, comments=True)


#: the lines of the other pages: `annover --help`'s that are one of them run there
ELSEWHERE = [_words(line) for page, lines in PAGES if page != "annover" for line in lines]


def _write_inputs(root: Path) -> None:
    """The files the examples name that a user has: a model's predictions, merge's sides."""
    tasks = json.loads((root / "round2.json").read_text())
    preds = [{"task_key": t["data"]["ext_id"], "model_version": "bert-v2", "score": 0.97,
              "result": [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                          "value": {"choices": ["negative" if i % 2 else "positive"]}}]} for i, t in enumerate(tasks)]
    (root / "preds.jsonl").write_text("".join(json.dumps(p) + "\n" for p in preds))
    (root / "sides.json").write_text('{"tasks": {"rev-003": "ours"}}')  # what the jq line of merge's writes


def _relabeled(root: Path, name: str, label: str) -> str:
    tasks = json.loads((root / "round2.json").read_text())
    tasks[3]["annotations"][0]["result"][0]["value"]["choices"] = [label]
    (root / name).write_text(json.dumps(tasks))
    return name


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    """The sentiment sample as a repository: v1, v2, v3 on main (v2 pushed to the git remote origin), a branch
    relabel from v2 whose version conflicts with v3, a second DVC remote backup."""
    root = tmp_path_factory.mktemp("sample") / "repo"
    saved = os.getcwd()
    r = example_repo(root)
    os.chdir(root)
    try:
        _write_inputs(root)
        r.snapshot("round1.json", config="labeling.xml", key="data.ext_id", message="round 1")
        r.snapshot("round2.json", message="round 2")
        git("init", "-q", "--bare", str(root.parent / "origin.git"), cwd=root)
        git("remote", "add", "origin", str(root.parent / "origin.git"), cwd=root)
        git("push", "-q", "origin", "main", cwd=root)
        git("fetch", "-q", "origin", cwd=root)
        git("branch", "relabel", cwd=root)
        r.snapshot(_relabeled(root, "ours.json", "neutral"), message="rev-003 reviewed")
        git("checkout", "-q", "relabel", cwd=root)
        r.snapshot(_relabeled(root, "theirs.json", "negative"), message="relabel rev-003")
        git("checkout", "-q", "main", cwd=root)
        with open(root / ".dvc" / "config.local", "a") as f:  # not committed, as `dvc remote add --local`
            f.write(f"['remote \"backup\"']\n    url = {root.parent / 'backup'}\n")
    finally:
        os.chdir(saved)
    return root


@pytest.fixture(scope="module")
def detection(tmp_path_factory) -> Path:
    """Four images of the shared corpus's Roboflow COCO file as a repository (v1), the images (made at their sizes,
    small JPEGs of one colour) in data/."""
    root = tmp_path_factory.mktemp("detection") / "repo"
    annover.init(root)
    coco = json.loads(CHESS.read_text(encoding="utf-8"))
    coco["images"] = coco["images"][:4]
    coco["annotations"] = [a for a in coco["annotations"] if a["image_id"] in {im["id"] for im in coco["images"]}]
    (root.parent / "chess.json").write_text(json.dumps(coco))
    (root / "data").mkdir()
    for im in coco["images"]:
        Image.new("RGB", (im["width"], im["height"]), (80, 80, 160)).save(root / "data" / im["file_name"], "JPEG")
    code, _, err = _in(root, lambda: run(["snapshot", "--from", str(root.parent / "chess.json"), "-m", "chess", "-q"]))
    assert code == 0, err
    return root


def _in(cwd: Path, call):
    saved = os.getcwd()
    os.chdir(cwd)
    try:
        with CliRunner().isolation() as (out, err, _):
            return call(), out.getvalue().decode(), err.getvalue().decode()
    finally:
        os.chdir(saved)


def _commands(line: str, names: dict[str, str]) -> list[tuple[list[str], str, str | None]]:
    """The annover commands of a shell line (``a | b``, ``a && b``, ``a > FILE``): (argv, what follows, FILE)."""
    words = [names.get(w, w) for w in shlex.split(line, comments=True)]
    found, cmd = [], []
    for word in [*words, "&&"]:
        if word not in ("|", "&&"):
            cmd.append(word)
        elif cmd[:1] == ["annover"]:
            out = cmd[cmd.index(">") + 1] if ">" in cmd else None
            found.append((cmd[1:cmd.index(">")] if out else cmd[1:], word, out))
            cmd = []
        else:
            cmd = []
    return found


def _parse_error(argv: list[str]) -> str | None:
    """click's usage error for ``annover ARGV``, found as click parses it, running nothing."""
    cmd, ctx, name, args = main, None, "annover", list(argv)
    try:
        while isinstance(cmd, click.Command):
            ctx = cmd.make_context(name, args, parent=ctx)
            if not isinstance(cmd, click.Group):
                return None
            name, cmd, args = cmd.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
    except click.UsageError as e:
        return e.format_message()
    return None


def _run(argv: list[str], stdin: bytes | None) -> tuple[int, bytes, str]:
    with CliRunner().isolation(input=stdin, env={"DISPLAY": None, "WAYLAND_DISPLAY": None}) as (out, err, _):
        code = run(argv)
        return code, out.getvalue(), err.getvalue().decode()


def test_every_example_parses():
    bad = [f"{line}: {error}" for _, lines in PAGES for line in lines for argv, _, _ in _commands(line, FILLED)
           if (error := _parse_error(argv))]
    assert not bad, "\n".join(bad)


def test_no_example_refuses_the_output_of_an_earlier_one():
    """Read in order, a page's examples write each file once, or replace it with --force (or -f)."""
    twice = []
    for page, lines in PAGES:
        written = set()
        for line in lines:
            for argv, _, _ in _commands(line, {}):
                out = next((argv[i + 1] for i, w in enumerate(argv[:-1]) if w in ("--out", "-o", "--config-out")), None)
                if out is not None and out in written and not {"--force", "-f"} & set(argv):
                    twice.append(f"{page}: {line}")
                written.add(out)
    assert not twice, "\n".join(twice)


def test_no_help_shows_a_control_character():
    """A stray backspace (click's ``\\b`` not at a paragraph's start, or one typed into the source) shows as ^H and
    ends the examples early for a reader that stops at the first line out of the block."""
    shown = [page for page, text in TEXTS.items() if re.search(r"[\x00-\x08\x0b-\x1f]", text)]
    assert not shown, shown


@pytest.mark.parametrize("page,lines", PAGES, ids=[p for p, _ in PAGES])
def test_every_example_runs(page, lines, sample, detection, tmp_path, monkeypatch):
    failed, changed = [], 0
    for line in lines:
        if any(u in f"{line}  " for u in UNSATISFIED) or (page == "annover" and _words(line) in ELSEWHERE):
            continue
        image = any(f in line for f in IMAGE_FORMATS)
        cwd = tmp_path / ("detection" if image else "sample")
        if page in ONE_BY_ONE:  # from the sample as it is, after a line that changed it: one merges what the next would
            cwd = tmp_path / str(changed)
        if page == "init":
            cwd.mkdir(exist_ok=True)
        elif not cwd.exists():
            shutil.copytree(detection if image else sample, cwd, symlinks=True)
            (cwd / WRITTEN.get(page, "-")).unlink(missing_ok=True)
        monkeypatch.chdir(cwd)
        stdin = None
        for argv, then, out_file in _commands(line, {**FILLED, **(DETECTION if image else {})}):
            code, out, err = _run(argv, stdin)
            stdin = out if then == "|" else None
            if out_file:
                (cwd / out_file).write_bytes(out)
            changed += code == 0 and "--dry-run" not in argv
            if code != _expected(page, argv):
                failed.append(f"{line}\n  -> annover {shlex.join(argv)}: exit {code}: {err.strip()[-300:]}")
    assert not failed, "\n".join(failed)


def _expected(page: str, argv: list[str]) -> int:
    """The exit code a line documents: 1 for --exit-code with changes; 16 for a merge of the sample's branch that
    takes no side (its version conflicts with HEAD's)."""
    if "--exit-code" in argv:
        return 1
    return 16 if page == "merge" and not {"--ours", "--theirs", "--resolve"} & set(argv) else 0
