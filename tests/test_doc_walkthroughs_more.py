"""The examples of docs/configs.md, docs/notebook.md and the README's sections "Remotes and clones",
"Freeing disk space", "Reading a version with Dask or Spark", "Label in the notebook", "Undo", "Before a
snapshot: --dry-run" and "Reading options the repository remembers", typed as written in a temporary
folder. Each block is read from the markdown, so a change of the docs, or of the code under them, that
breaks an example fails here. The data are examples/sentiment and the shared corpus, read in place; the
S3 remote is moto's server on 127.0.0.1 (the README's `127.0.0.1:9000` is the port it was given)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from annover.cli import run

from .conftest import EXAMPLES, ROOT, shared_corpus
from .test_doc_walkthroughs_formats import _blocks, _env, _py, _section, _sh, _two_rounds
from .test_s3 import importlib_missing, start_moto

DOCS = ROOT / "docs"
README = ROOT / "README.md"
LS_CORPUS = shared_corpus("label-studio")


def _lines(block: str) -> list[str]:
    """The commands of a block, without their comments."""
    return [c for c in (line.split("  #", 1)[0].strip() for line in block.splitlines()) if c]


def _examples(block: str) -> list[tuple[str, str]]:
    """A block of ``$ command`` lines each followed by what it prints: (command, output) pairs."""
    return [(p.partition("\n")[0], p.partition("\n")[2]) for p in re.split(r"^\$ ", block, flags=re.M)[1:]]


# docs/configs.md


def _run_examples(block: str, cwd: Path) -> None:
    """Each command's output is what the page shows; `echo $?` the exit code of the command before."""
    code = 0
    for command, shown in _examples(block):
        if command == "echo $?":
            assert str(code) == shown.strip(), (command, shown)
            continue
        if command.startswith("cat "):  # the page shows a file to write: write it
            (cwd / command.split()[1]).write_text(shown)
            continue
        code, said = _annover(command, cwd)
        assert said.strip() == shown.strip(), f"{command}\n{said}"


def _annover(command: str, cwd: Path) -> tuple[int, str]:
    """A command's exit code and what it printed: an `annover` command in this process, through the CLI's own
    entry point and error handler (each process would import label-studio-sdk again), a pipe in bash."""
    if "|" in command:
        p = subprocess.run(["bash", "-c", command], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=120)
        return p.returncode, p.stdout + p.stderr
    assert command.startswith("annover ")
    here = os.getcwd()
    os.chdir(cwd)
    try:
        with CliRunner().isolation() as (out, err, _):
            code = run(shlex.split(command)[1:])
            return code, out.getvalue().decode() + err.getvalue().decode()
    finally:
        os.chdir(here)


def test_configs_md_examples_print_what_the_page_shows(tmp_path):
    doc = (DOCS / "configs.md").read_text(encoding="utf-8")
    examples = [b for b in _blocks(doc, "console") + _blocks(doc, "sh") if b.startswith("$ ")]
    assert len(examples) >= 16
    for block in examples:
        _run_examples(block, tmp_path)
    # the first block, on an object-detection export of the corpus (its labels for the block's)
    export = LS_CORPUS / "evalme_bbox_multi.json"
    if not export.exists():
        pytest.skip("the shared corpus is not here")
    _sh("annover init -q labels", tmp_path)
    top = _blocks(doc, "sh")[0].replace("export.json", str(export)).replace("car,person", "Car,Obstacle,Road")
    for command in _lines(top):
        _sh(command, tmp_path / "labels")
    assert "v1" in _sh("annover log --oneline", tmp_path / "labels").stdout


def test_configs_md_python_blocks_run_as_written(tmp_path):
    doc = (DOCS / "configs.md").read_text(encoding="utf-8")
    templates, model = _blocks(doc, "python")
    out = _py(templates, tmp_path).stdout
    assert out.count("\n") == len(json.loads(_sh("annover config list --json", tmp_path).stdout))
    box = ('{"id": "r1", "from_name": "label", "to_name": "image", "type": "rectanglelabels", '
           '"value": {"x": 1, "y": 1, "width": 2, "height": 2, "rectanglelabels": ["car"]}}')
    code = "\n".join(f"print(repr({c}))" if not re.match(r"(from |\w+ = )", c) else c for c in _lines(model))
    out = _py(f'from annover.model.templates import render\nxml = render("object-detection", ["car", "person"])\n'
              f"result_item = {box}\n{code}", tmp_path).stdout
    assert "labels=('car', 'person')" in out and "\n[]\n" in out


# README: Remotes and clones


def test_remotes_and_clones_a_folder_then_shared_later_on_s3_read_with_dask_and_spark(tmp_path, monkeypatch):
    if importlib_missing("moto") or importlib_missing("dvc_s3"):
        pytest.skip("moto[server] and dvc-s3 are test dependencies: pip install -e '.[test]'")
    section = _section(README, "### Remotes and clones")
    repo = _two_rounds_default(tmp_path)
    local = "a folder on this machine only"
    for command in ("annover status", "annover push"):
        assert local in _sh(command, repo).stderr  # "init, status and push say so on stderr, every time"
    assert _sh("annover push -q", repo).stderr == ""
    _sh(f"git clone -q {repo} here && cd here && git checkout -q v1 && dvc pull -q", tmp_path)  # a clone here
    old = Path(re.search(r"url = (.*)", (repo / ".dvc" / "config").read_text()).group(1).strip())
    shutil.move(old, tmp_path / "gone")  # a clone elsewhere: the folder is not there
    p = _sh("annover status", tmp_path / "here", code=10)
    assert "a folder that does not exist on this machine" in p.stderr
    # shared later: init . --remote, push, and in a clone the three lines the README gives
    for name, value in (("AWS_ACCESS_KEY_ID", "k"), ("AWS_SECRET_ACCESS_KEY", "s"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    proc, endpoint = start_moto()
    try:
        _py(f"import boto3; boto3.client('s3', endpoint_url={endpoint!r}, aws_access_key_id='k', "
            "aws_secret_access_key='s', region_name='us-east-1').create_bucket(Bucket='bucket')", tmp_path)
        shutil.move(tmp_path / "gone", old)
        said = _sh("annover init . --remote s3://bucket/labels", repo).stderr
        assert "dvc remote add --local -f annover s3://bucket/labels" in said
        _sh(f"dvc remote modify --local annover endpointurl {endpoint} && annover push", repo)
        shutil.move(old, tmp_path / "gone")  # elsewhere: the versions' own folder is not there, S3 is
        _sh(f"git clone -q {repo} elsewhere", tmp_path)
        block = _blocks(section, "sh")[0].replace("http://127.0.0.1:9000", endpoint)
        for command in _lines(block):
            _sh(command, tmp_path / "elsewhere")
        assert _py("import annover; print(annover.load('v1').num_rows)", tmp_path / "elsewhere").stdout.strip() == "24"
        _dask_and_spark(repo, endpoint, tmp_path / "gone")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _two_rounds_default(where: Path) -> Path:
    """The Quickstart's v1 and v2 in a repository with the default remote (a folder here)."""
    _sh("annover init -q labels", where)
    repo = where / "labels"
    _sh(f"annover snapshot -q --from {EXAMPLES}/round1.json --config {EXAMPLES}/labeling.xml --key data.ext_id "
        f"-m 'round 1' && annover snapshot -q --from {EXAMPLES}/round2.json -m 'round 2'"
        f" && annover snapshot -q --from {EXAMPLES}/round1.json -m 'round 1 again' && annover push -q", repo)
    return repo


# README: Reading a version with Dask or Spark


def _dask_and_spark(repo: Path, endpoint: str, folder: Path) -> None:
    """The section's block: Dask from the S3 remote, Spark from the folder remote the versions went to first."""
    block = _blocks(_section(README, "### Reading a version with Dask or Spark"), "python")[0]
    dask_part, spark_part = block.split("\nimport annover.spark")
    code = dask_part.replace("http://127.0.0.1:9000", endpoint).replace(
        'ddf.groupby("annotator").size().compute()', 'print(ddf.groupby("annotator").size().compute().to_dict())')
    counts = _py(code, repo).stdout.strip().splitlines()[-1]
    want = _py("import annover, collections; print(dict(collections.Counter(annover.load('v3').column('annotator')"
               ".to_pylist())))", repo).stdout.strip()
    assert counts == want
    if shutil.which("java") is None or importlib_missing("pyspark"):
        pytest.skip("Spark needs a Java runtime and pyspark")
    spark = ("from pyspark.sql import SparkSession\nspark = SparkSession.builder.master('local[1]')"
             ".config('spark.ui.enabled', 'false').config('spark.driver.host', '127.0.0.1')"
             ".config('spark.driver.bindAddress', '127.0.0.1').getOrCreate()\nimport annover.spark"
             + spark_part.replace("/mnt/labels-remote", str(folder)) + "\nprint(df.count())\nspark.stop()\n")
    tasks = _py("import annover; print(annover.load('v3', table='tasks').num_rows)", repo).stdout.strip()
    assert _py(spark, repo).stdout.strip().splitlines()[-1] == tasks


# README: Before a snapshot, Reading options, Undo, Freeing disk space


def test_dry_run_reading_options_undo_and_gc_as_the_readme_says(tmp_path):
    repo = _two_rounds(tmp_path)
    p = _sh(f"annover snapshot --from {EXAMPLES}/round1.json --dry-run", repo)
    assert "reading with --key data.ext_id, as HEAD was" in p.stderr
    assert "dry run: would record v3 on v2; nothing written" in p.stderr
    tasks = [line for line in p.stdout.splitlines() if line.startswith("Tasks:")]
    assert tasks == [line for line in _sh("annover diff v2 v1", repo).stdout.splitlines() if line.startswith("Tasks:")]
    said = json.loads(_sh(f"annover snapshot --from {EXAMPLES}/round1.json --key auto --dry-run --json", repo).stdout)
    assert said["dry_run"] and said["changed"] and said["tag"] == "v3" and said["diff"]["tasks"]["removed"] == 24
    assert any("task keys changed scheme" in w for w in said["warnings"] + said["diff"]["warnings"]), said["warnings"]
    assert "v3" not in _sh("annover log --oneline", repo).stdout
    # Undo: the block, the last line answered --force (no terminal to ask on: exit 2, nothing dropped)
    undo = _lines(_blocks(_section(README, "### Undo"), "sh")[0])
    for command in undo[:2]:
        _sh(command, repo)
    assert "would drop 2 version(s)" in _sh(undo[2], repo).stderr
    _sh(undo[3], repo, code=2)
    _sh(undo[3] + " --force", repo)
    assert _sh("annover log --oneline", repo).stdout.splitlines()[0].endswith("(HEAD, v2) round 2")
    _sh("annover revert v1", repo, code=2)  # not HEAD
    # gc: v3, then a v4 of its own content, dropped and collected
    edited = json.loads((EXAMPLES / "round2.json").read_text())
    edited[0]["data"]["text"] += " (edited)"
    (tmp_path / "edited.json").write_text(json.dumps(edited))
    _sh(f"annover snapshot -q --from {EXAMPLES}/round1.json -m r3 && annover snapshot -q --from "
        f"{tmp_path / 'edited.json'} -m r4", repo)
    load = "import annover; print([annover.load(v).num_rows for v in ('v1', 'v2', 'v3')])"
    rows = _py(load, repo).stdout
    gc = _lines(_blocks(_section(README, "### Freeing disk space: `annover gc`"), "sh")[0])
    _sh(gc[0], repo)
    assert "would remove 3 object(s) (1 listing(s))" in _sh(gc[1], repo).stderr
    assert "removed 3 object(s)" in _sh(gc[2], repo).stderr
    assert json.loads(_sh("annover gc --json", repo).stdout)["objects"] == 0
    assert _py(load, repo).stdout == rows
    _sh("for v in v1 v2 v3; do git checkout -q $v && dvc checkout -q; done", repo)


# README: Label in the notebook; docs/notebook.md


def test_notebook_blocks_run_as_written_and_the_save_is_the_session(tmp_path):
    """The README's block on v3 (round 1 again after round 2, four tasks unlabeled), answered from Python
    as the widget's handles do; then docs/notebook.md's lines, the new tasks' in a new repository."""
    repo = _two_rounds(tmp_path)
    _sh(f"annover snapshot -q --from {EXAMPLES}/round1.json -m 'round 1 again'", repo)
    readme = _blocks(_section(README, "## Label in the notebook"), "python")[0]
    imported, opened, shown, saved = readme.strip().splitlines()
    opened = f"{imported}\n{opened}"
    answer = ('assert ann.progress["total"] == 4\nann.choose("positive"); ann.skip(); ann.back(); ann.forward()\n'
              'ann.goto(2); ann.answer(["negative"]); ann.undo(); ann.choose("neutral")\n'
              'assert ann.answers.num_rows == 3\n')
    out = _py(f"{opened}\n{shown}\n{answer}res = {saved.strip()}\nprint(res.tag, res.answers.num_rows)", repo).stdout
    assert out.split() == ["v4", "3"]
    said = json.loads(_sh("annover diff v3 v4 --json", repo).stdout)
    assert (said["annotations"]["added"], said["annotations"]["changed"], said["skipped"]["after"]) == (3, 0, 2)
    # the same call again resumes; a save with nothing new makes no version
    again = _py(f"{opened}\nprint(ann.progress['labeled'], ann.save(message='x').tag)", repo).stdout.split()
    assert again == ["2", "None"]
    # docs/notebook.md: every line, a sample's id for the placeholder, a DataFrame for df
    lines = _blocks(_section(DOCS / "notebook.md", "## Where the tasks come from"), "python")[0].splitlines()
    cut = next(i for i, line in enumerate(lines) if line.startswith("# in a repository with no version yet"))
    second = ("import annover\nrepo = annover.Repo('.')\nrow = next(r for r in repo.load('v4').to_pylist() "
              "if r['from_name'] == 'sentiment' and r['labels'])\nann = annover.annotate(repo, 'v4', "
              "only=[row['task_key']], annotator='carol@example.com')\n"
              "ann.choose(next(x for x in ann.session.labels if x not in row['labels']))\n"
              "print(ann.save(message='a second opinion').tag)")
    assert _py(second, repo).stdout.split() == ["v5"]  # a disagreement for only="disagreement"
    sample = _sh("annover sample v5 --strategy random --n 3 --seed 1 --json", repo).stdout
    sample_id = json.loads(sample)["id"]
    version = "\n".join(lines[:cut]).replace('"3f9c2a1b7d04"', repr(sample_id)).replace('"v3"', '"v5"')
    _py(version + "\nassert ann.progress['total'] == 2\n", repo)
    _sh("annover init -q pics && mkdir pics/photos", tmp_path)
    _py("from PIL import Image\nfor i, c in enumerate(['red', 'blue']): "
        "Image.new('RGB', (40, 30), c).save(f'photos/p{i}.png')", tmp_path / "pics")
    new = ("import annover, pandas as pd\ndf = pd.DataFrame({'path': ['photos/p0.png', 'photos/p1.png']})\n"
           + "\n".join(lines[cut:]) + "\nann.choose('cat'); ann.choose('dog'); ann.answer(['cat', 'dog'])\n"
           "print(ann.save(message='photos').tag)\n")
    assert _py(new, tmp_path / "pics").stdout.split() == ["v1"]
