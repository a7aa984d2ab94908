"""The examples of docs/diff.md, docs/formats.md, docs/commands.md and the README's "Python API"
section, typed as written in a temporary folder. Each block (or inline command) is read from the
markdown, so a change of the docs, or of the code under them, that breaks an example fails here.
The sample data are examples/sentiment and the shared corpus's training formats, read in place."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import datasets
import jsonschema
import pycocotools.coco as coco_api
import pytest
import supervision as sv
from PIL import Image as PILImage

from .conftest import EXAMPLES, ROOT, shared_corpus

DOCS = ROOT / "docs"
FORMATS = shared_corpus("formats")


def _section(path: Path, heading: str) -> str:
    """The text of ``path`` from the heading ``heading`` to the next heading of its level or above
    (a ``#`` line inside a fenced block is a comment, not a heading)."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index(heading + "\n") + 1
    level, fenced = len(heading.split(" ", 1)[0]), False
    for i in range(start, len(lines)):
        fenced ^= lines[i].lstrip().startswith("```")
        if not fenced and re.match(r"#{1,%d} " % level, lines[i]):
            return "".join(lines[start:i])
    return "".join(lines[start:])


def _blocks(text: str, lang: str = "") -> list[str]:
    """The fenced blocks of ``text`` whose fence names ``lang`` ("" for a bare fence)."""
    return [b for b in re.findall(r"^ *```%s\n(.*?)^ *```" % re.escape(lang), text, re.S | re.M)]


def _env() -> dict:
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def _sh(script: str, cwd: Path, code: int = 0) -> subprocess.CompletedProcess:
    p = subprocess.run(["bash", "-c", "set -euo pipefail\n" + script], cwd=cwd, env=_env(), capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == code, f"{script!r} -> {p.returncode}\n{p.stdout[-1500:]}\n{p.stderr[-1500:]}"
    return p


def _py(code: str, cwd: Path) -> subprocess.CompletedProcess:
    p = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"{code[-1500:]}\n-> {p.returncode}\n{p.stdout[-1500:]}\n{p.stderr[-3000:]}"
    return p


def _two_rounds(where: Path) -> Path:
    """The Quickstart's repository: v1 round 1, v2 round 2, a DVC remote of its own."""
    _sh(f"annover init -q labels --remote {where / 'remote'}", where)
    repo = where / "labels"
    _sh(f"annover snapshot -q --from {EXAMPLES}/round1.json --config {EXAMPLES}/labeling.xml --key data.ext_id "
        f"-m 'round 1' && annover snapshot -q --from {EXAMPLES}/round2.json -m 'round 2'", repo)
    return repo


def _without_ids(text: str) -> str:
    """Output with version ids (12 hex digits) blanked: they hash the time a version was made."""
    return re.sub(r"\b[0-9a-f]{12}\b", "<id>", text)


# docs/diff.md


def test_diff_md_commands_summary_python_and_task_log_run_as_written(tmp_path):
    repo = _two_rounds(tmp_path)
    doc = DOCS / "diff.md"
    top = _section(doc, "# `annover diff`: what changed between two versions")
    for line in _blocks(top)[0].splitlines():
        command = line.split("  #", 1)[0].strip()
        _sh(command, repo)  # --exit-code of v2 against HEAD (v2): nothing changed, exit 0
    schema = json.loads((ROOT / "schemas" / "diff.schema.json").read_text())
    jsonschema.validate(json.loads((repo / "diff.json").read_text()), schema)
    assert _sh("annover diff v1 --exit-code", repo, code=1).stdout
    # the summary the page shows is the sample's, word for word but for the ids and "v2" for HEAD
    shown = _blocks(_section(doc, "## The summary"))[0]
    said = _sh("annover diff v1 v2", repo).stdout
    assert _without_ids(said).strip() == _without_ids(shown).strip()
    # the Python block, and the value its comment gives
    code = _blocks(top, "python")[0]
    comment = re.search(r'res\.summary\["annotations"\]\s+# (\{.*\})', code).group(1)
    out = _py(code + '\nimport json; print(json.dumps(res.summary["annotations"]))\n'
              'assert not res.identical and bool(res)\n'
              'assert res.rows.num_rows == res.to_json(rows=True)["rows"]["total"]\n',
              repo)
    assert json.loads(out.stdout) == json.loads(comment)
    assert (repo / "diff.parquet").stat().st_size > 0
    # one task's history, as the page shows it
    history = _section(doc, "## One task's history: `log --task` and `diff --task`")
    example = _blocks(history)[0]
    command, shown = example.split("\n", 1)
    assert _without_ids(_sh(command.removeprefix("$ "), repo).stdout).strip() == _without_ids(shown).strip()


# the README's "Python API"


def test_readme_python_api_block_runs_as_written(tmp_path):
    """Every line, with the README's file names given the sample's files; the Label Studio line
    (a server) is a file snapshot here, and the merge's branch is made before it."""
    code = _blocks(_section(ROOT / "README.md", "## Python API"), "python")[0]
    shutil.copy(EXAMPLES / "round1.json", tmp_path / "export.json")
    shutil.copy(EXAMPLES / "labeling.xml", tmp_path / "labeling.xml")
    live = re.search(r"^repo\.snapshot\(label_studio=.*$", code, re.M).group(0)
    code = code.replace(live, f'repo.snapshot({str(EXAMPLES / "round2.json")!r}, message="round 2")')
    merge = re.search(r"^m = repo\.merge\(\"(\w+)\".*$", code, re.M)
    branch = (f'import subprocess; subprocess.run(["git", "branch", "{merge.group(1)}", "v2"], cwd="my-labels", '
              'check=True)')
    code = code.replace(merge.group(0), branch + "\n" + merge.group(0))
    checks = """
import json
assert res.changed and res.tag == "v1" and v.parents and m.kind
assert ds.num_rows and ds.features["sentiment"].names
s = d.summary["annotations"]
assert s["after"] - s["before"] == s["added"] - s["removed"]
assert json.load(open("v2.json")) and repo.status(timeout=5).remote
"""
    _py(code + checks, tmp_path)


# docs/formats.md


def _inline(doc: str, pattern: str) -> list[str]:
    """The inline code spans of ``doc`` that match ``pattern`` (a regular expression)."""
    prose = re.sub(r"^ *```.*?^ *```", "", doc, flags=re.S | re.M)
    spans = (" ".join(c.split()) for c in re.findall(r"`([^`]+)`", prose))  # a span may break across lines
    return [c for c in spans if re.search(pattern, c)]


def test_formats_md_configs_not_labeled_yet_and_their_exports(tmp_path):
    doc = (DOCS / "formats.md").read_text(encoding="utf-8")
    _sh(f"annover init -q labels --remote {tmp_path / 'remote'}", tmp_path)
    repo = tmp_path / "labels"
    ner = _inline(doc, r"^annover config new ner .*> ner\.xml$")
    boxes = _inline(doc, r"^annover config new object-detection .*> boxes\.xml$")
    assert ner and boxes, "formats.md gives `annover config new` for a file of no label"
    _sh(ner[0].replace("\n", " ") + " && " + boxes[0], repo)
    # a CoNLL file of only O: refused without --config (exit 3), tasks without answers with it
    (tmp_path / "o.conll").write_text("-DOCSTART- -X- -X- O\n\nHello _ _ O\nParis _ _ O\n\n", encoding="utf-8")
    assert "--config" in _sh("annover snapshot --from ../o.conll", repo, code=3).stderr
    assert "not labeled yet" in _sh("annover snapshot -q --from ../o.conll --config ner.xml", repo).stderr
    # a YOLO folder of images and no label line: data not labeled yet, and what each export writes
    yolo = tmp_path / "yolo"
    yolo.mkdir()
    (yolo / "classes.txt").write_text("cat\ndog\n")
    (yolo / "sizes.json").write_text(json.dumps({f"images/{n}.jpg": {"width": 10, "height": 8} for n in "ab"}))
    _sh("annover snapshot -q --from ../yolo --config boxes.xml --tag unlabeled", repo)
    _sh("annover export unlabeled --format coco --out c.json && annover export unlabeled --format yolo --out y && "
        "annover export unlabeled --format voc --out voc", repo)
    said = re.search(r"a version of images not labeled yet\s+exports (.*?);\s+the notes", doc, re.S).group(1)
    coco = json.loads((repo / "c.json").read_text())
    assert "COCO file of no image" in said and coco["images"] == [] and [c["name"] for c in coco["categories"]] == [
        "cat", "dog"]
    files = {folder: sorted(str(p.relative_to(repo / folder)) for p in (repo / folder).rglob("*") if p.is_file())
             for folder in ("y", "voc")}
    for folder, words in (("y", "YOLO folder of"), ("voc", "VOC folder of")):
        named = re.search(words + r"\s+(.*?)(,|$| \()", said, re.S).group(1)
        for f in files[folder]:
            assert f"`{Path(f).name}`" in named or f"`{f}`" in named, (folder, f, named)
    assert all((repo / "voc" / f).read_text() == "" for f in files["voc"] if f.startswith("ImageSets"))


def _images(sizes: Path, into: Path) -> None:
    """An image of the size ``sizes.json`` records for each of its files (the corpus has none)."""
    for name, size in json.loads(sizes.read_text()).items():
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        PILImage.new("RGB", (size["width"], size["height"])).save(into / name)


def test_formats_md_images_splits_and_predictions_read_by_the_tools(tmp_path, monkeypatch):
    """`--images` to COCO (a version of splits) and Hugging Face, read as the page says; COCO
    predictions read by pycocotools' loadRes against the ground truth of the same version."""
    doc = (DOCS / "formats.md").read_text(encoding="utf-8")
    _sh(f"annover init -q labels --remote {tmp_path / 'remote'}", tmp_path)
    repo = tmp_path / "labels"
    sample = FORMATS / "yolo_segment_datumaro"
    _sh(f"annover snapshot -q --from {sample} -m segment", repo)  # v1: its one image is in split train
    _images(sample / "sizes.json", repo / "data")
    (hf,) = _inline(doc, r"^annover export v3 --format hf --out v3-hf --images data/$")
    (coco,) = _inline(doc, r"^export --format coco --out v3-coco --images DIR$")
    typed = f"{hf.replace('export v3', 'export v1')} && annover {coco.replace('export', 'export v1')}"
    _sh(typed.replace("DIR", "data/"), repo)
    monkeypatch.chdir(repo)
    read = _inline(doc, r'^datasets\.load_from_disk\("v3-hf"\)\["train"\]\[0\]\["image"\]$')  # v1 has splits
    image = eval(read[0], {"datasets": datasets}) if read else None  # noqa: S307 - the doc's own line
    assert image is not None and image.size == (15, 10)
    (by_sv,) = _inline(doc, r"^DetectionDataset\.from_coco\(\"v3-coco/train\"")
    found = eval("sv." + by_sv, {"sv": sv})  # noqa: S307 - the doc's own line
    assert len(found) == 1 and sum(len(d) for _, _, d in found) == 2
    # predictions: the label-studio export with each answer given again as a model's prediction
    _sh("annover export v1 --format label-studio --out ls.json", repo)
    tasks = json.loads((repo / "ls.json").read_text())
    for t in tasks:
        t["predictions"] = [{"model_version": "m1", "score": 0.9, "result": t["annotations"][0]["result"]}]
    (repo / "preds.json").write_text(json.dumps(tasks))
    _sh("annover snapshot -q --from ls.json --predictions preds.json -m preds && "
        "annover export HEAD --format coco --out gt.json && annover export HEAD --format coco --predictions m1 "
        "--out p.json", repo)
    (keep,) = _inline(doc, r"^\[p for p in preds if .*\]$")
    gt = coco_api.COCO("gt.json")
    preds = json.loads((repo / "p.json").read_text())
    dt = gt.loadRes(eval(keep, {"preds": preds, "gt": gt}))  # noqa: S307 - the doc's own line
    assert sorted(dt.getImgIds()) == sorted(gt.getImgIds()) and len(dt.getAnnIds()) == len(gt.getAnnIds())


# docs/commands.md


def test_commands_md_merge_sides_draft_and_export_to_stdout(tmp_path):
    """`merge --dry-run --json | jq` drafts the sides file `--resolve` takes; `--out - | head`."""
    assert shutil.which("jq"), "jq is not installed (.ci/run installs Debian's package)"
    repo = _two_rounds(tmp_path)
    doc = (DOCS / "commands.md").read_text(encoding="utf-8")
    tasks = json.loads((EXAMPLES / "round2.json").read_text())
    for side, label in (("theirs", "negative"), ("ours", "neutral")):
        for t in tasks:
            for a in t.get("annotations", []):
                for r in a["result"]:
                    if t["data"]["ext_id"] == "rev-003" and r["from_name"] == "sentiment":
                        r["value"]["choices"] = [label]
        (tmp_path / f"{side}.json").write_text(json.dumps(tasks))
    _sh("git checkout -q -b relabel && annover snapshot -q --from ../theirs.json -m theirs && "
        "git checkout -q main && annover snapshot -q --from ../ours.json -m ours", repo)
    (draft,) = _blocks(_section(DOCS / "commands.md", "## `annover merge`"), "sh")
    # typed in a shell as it is (no pipefail): the dry run's exit 16 (it would stop) ends no pipeline
    p = subprocess.run(["bash", "-c", draft.strip().replace("REV", "relabel")], cwd=repo, env=_env(), text=True,
                       capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert json.loads((repo / "sides.json").read_text()) == {"tasks": {"rev-003": "ours"}}
    _sh("annover merge relabel --resolve sides.json -q", repo)
    (head,) = _inline(doc, r"^annover export v2 --format jsonl --out - \| head$")
    p = _sh(head, repo)
    assert len(p.stdout.splitlines()) == 10 and all(json.loads(line)["task_key"] for line in p.stdout.splitlines())


def test_a_diffs_rows_asked_for_after_a_reset_removed_its_parts_are_one_line_naming_the_part(two_rounds):
    """The README's Python API in one session: ``d = repo.diff("v1", "v2")``, later
    ``repo.reset("v1", force=True)``, then ``d.rows``. The row table reads the parts when first
    asked for, and the reset has taken v2's out of the work tree: an ObjectError naming the file
    and saying to diff again, not DuckDB's IOException."""
    import annover

    repo = two_rounds[0]
    d = repo.diff("v1", "v2")
    repo.reset("v1", force=True)
    with pytest.raises(annover.errors.ObjectError, match=r"\.annover/objects/.*diff again") as e:
        d.rows
    assert "\n" not in str(e.value)
    assert repo.diff("v1", "HEAD").identical
