"""The training script's side: a version pinned, got in a fresh clone as CI or a teammate's machine
gets it (``git clone``, then ``dvc pull`` or ``annover pull``), and the scripts of
``examples/training/`` run on it in a process of their own, as a user runs them.

Real data: the shared corpus's Label Studio sentiment export (two annotators on one task), the BCCD
Pascal VOC sample (boxes; the images are written here at the sizes the XML gives, since the corpus
holds no image) and flair's fashion CoNLL file; each snapshotted as v1 (part of it) and v2, pushed
to a local DVC remote and a bare git repository. Real git, real DVC, scikit-learn, pycocotools,
supervision, seqeval and datasets.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import annover

from .conftest import ROOT, git, shared_corpus

pytest.importorskip("datasets")
SCRIPTS = ROOT / "examples" / "training"
LS = shared_corpus("label-studio")
FORMATS = shared_corpus("formats")


def _run(*args: str, cwd: Path) -> str:
    """``args`` in a process of its own (the clone's annover on the path), its stdout's last line."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DVC_NO_ANALYTICS": "1"}
    p = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, f"{args} -> {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""


def _script(name: str, *args: str, cwd: Path) -> dict:
    return json.loads(_run(sys.executable, str(SCRIPTS / name), *args, cwd=cwd))


def _published(tmp_path: Path, name: str) -> tuple[annover.Repo, Path]:
    """A new repository with a DVC remote in a folder and a bare git remote: (repo, git URL)."""
    bare = tmp_path / f"{name}.git"
    git("init", "-q", "--bare", "-b", "main", str(bare), cwd=tmp_path)
    repo = annover.init(tmp_path / name, remote=str(tmp_path / f"{name}-remote"))
    git("remote", "add", "origin", str(bare), cwd=repo.root)
    return repo, bare


def _publish(repo: annover.Repo) -> None:
    repo.push()
    git("push", "-q", "--atomic", "origin", "main", "--tags", cwd=repo.root)


def _clone(bare: Path, dest: Path, rev: str | None = None, pull: str = "dvc") -> Path:
    """A fresh clone of ``bare`` at ``rev`` with its data: ``dvc pull``, or ``annover pull`` (every version)."""
    git("clone", "-q", str(bare), str(dest), cwd=dest.parent)
    if rev:
        git("checkout", "-q", rev, cwd=dest)
    _run(*([sys.executable, "-m", "dvc", "pull", "-q"] if pull == "dvc" else
           [sys.executable, "-m", "annover", "pull", "-q"]), cwd=dest)
    return dest


def _sentiment_rounds(tmp_path: Path) -> tuple[Path, Path, Path]:
    """The corpus's export (round 1), then round 2: one answer changed, one task added."""
    r1 = LS / "fe_sentiment_two_annotators.json"
    tasks = json.loads(r1.read_text())
    tasks[1]["annotations"][0]["result"][0]["value"]["choices"] = ["Positive"]
    new = json.loads(json.dumps(tasks[2]))
    new["id"], new["data"]["reviewText"] = 4, "Great pop filter, it works fine"
    new["annotations"][0]["result"][0].update(id="r4", value={"choices": ["Positive"]})
    (tmp_path / "round2.json").write_text(json.dumps(tasks + [new]))
    return r1, tmp_path / "round2.json", LS / "fe_sentiment_two_annotators.xml"


def _text_repo(tmp_path: Path) -> tuple[annover.Repo, Path, Path, Path]:
    """v1 and v2 of the sentiment rounds, published: (repo, git URL, round 1, round 2)."""
    r1, r2, xml = _sentiment_rounds(tmp_path)
    repo, bare = _published(tmp_path, "text")
    repo.snapshot(str(r1), config=str(xml), message="round 1")
    repo.snapshot(str(r2), message="round 2")
    _publish(repo)
    return repo, bare, r1, r2


def test_text_classifier_trains_on_the_pinned_version_in_fresh_clones(tmp_path):
    repo, bare, r1, r2 = _text_repo(tmp_path)
    pinned = _clone(bare, tmp_path / "ci", "v2")  # git clone && git checkout v2 && dvc pull
    a = _script("text_classifier.py", "v2", cwd=pinned)
    repo.snapshot(str(r1), message="round 3: back to round 1's labels")  # v3: v2 stays v2
    _publish(repo)
    later = _clone(bare, tmp_path / "teammate", pull="annover")  # main (v3), every version pulled
    b = _script("text_classifier.py", "v2", cwd=later)
    assert a == b  # the same version, rows in the same order, the same split and the same model
    assert a["version"] == git("show", "v2:.annover/HEAD", cwd=later).strip() == annover.resolve("v2", repo=later)
    latest = [t["annotations"][-1]["result"][0]["value"]["choices"][0] for t in json.loads(r2.read_text())]
    assert a["labels"] == sorted(latest)
    assert sorted(a["train"] + a["test"]) == sorted(a["task_keys"]) and a["test"]
    assert annover.load("v2", repo=later).equals(annover.load("v2", repo=pinned))


def test_a_version_is_read_by_git_url_and_without_annover(tmp_path):
    _, bare, _, _ = _text_repo(tmp_path)
    clone = _clone(bare, tmp_path / "ci", "v2")
    here = annover.load("v2", repo=clone)
    dataset = annover.load("v2", repo=clone, format="hf", resolve="latest")
    for url in (f"file://{bare}", str(bare)):  # no clone: git and the DVC remote only
        assert annover.load("v2", repo=url).equals(here)
        by_url = annover.load("v2", repo=url, format="hf", resolve="latest")  # was: "clone it first"
        assert by_url.features == dataset.features and by_url.data.table.equals(dataset.data.table)
        assert annover.resolve("v2", repo=url) == (clone / ".annover" / "HEAD").read_text().strip()
        assert annover.resolve("v1", repo=url) == annover.resolve("HEAD~1", repo=clone) != annover.resolve(repo=url)
    # the README's recipe, with annover not importable, and DuckDB over the same part files
    readme = (ROOT / "README.md").read_text()
    recipe = re.search(r"### Reading a version without annover.*?```python\n(.*?)```", readme, re.S).group(1)
    code = ("import sys; sys.modules['annover'] = None\n" + recipe +
            "import duckdb; parts = [obj(p['oid']) for p in manifest['parts']]\n"
            "d = duckdb.sql(f'select * exclude (_task_hash) from read_parquet({parts!r})').fetch_arrow_table()\n"
            "print(labels.num_rows, d.num_rows, labels.column('task_key').to_pylist() == "
            "d.column('task_key').to_pylist())")
    rows, duck, same = _run(sys.executable, "-c", code, cwd=clone).split()
    assert int(rows) == int(duck) == here.num_rows and same == "True"


def _voc_rounds(tmp_path: Path) -> tuple[Path, Path]:
    """BCCD's first 10 XML files (round 1), then 12 with one box relabelled; every fourth image in val."""
    xmls = sorted((FORMATS / "voc_bccd" / "Annotations").glob("*.xml"))[:12]
    rounds = []
    for n, name in ((10, "voc1"), (12, "voc2")):
        folder = tmp_path / name
        (folder / "Annotations").mkdir(parents=True)
        (folder / "ImageSets" / "Main").mkdir(parents=True)
        for x in xmls[:n]:
            text = x.read_text()
            if name == "voc2" and x == xmls[3]:
                text = text.replace("<name>RBC</name>", "<name>WBC</name>", 1)
            (folder / "Annotations" / x.name).write_text(text)
        stems = [x.stem for x in xmls[:n]]
        (folder / "ImageSets/Main/train.txt").write_text("".join(f"{s}\n" for i, s in enumerate(stems) if i % 4))
        (folder / "ImageSets/Main/val.txt").write_text("".join(f"{s}\n" for i, s in enumerate(stems) if not i % 4))
        rounds.append(folder)
    return rounds[0], rounds[1]


def _images(xmls: Path, data: Path) -> None:
    """An image of the size each XML gives (the corpus holds no image), in ``data``."""
    from PIL import Image

    data.mkdir()
    for i, x in enumerate(sorted(xmls.glob("*.xml"))):
        text = x.read_text()
        size = [int(re.search(f"<{k}>(\\d+)</{k}>", text).group(1)) for k in ("width", "height")]
        name = re.search("<filename>(.*?)</filename>", text).group(1)
        Image.new("RGB", tuple(size), (i * 20, 80, 160)).save(data / name)


def _det_repo(tmp_path: Path) -> tuple[annover.Repo, Path, Path, Path]:
    """v1 and v2 of the VOC rounds, each linked to its images (``data/``, tracked by DVC; round 2 adds
    images), published: (repo, git URL, round 1, round 2)."""
    voc1, voc2 = _voc_rounds(tmp_path)
    repo, bare = _published(tmp_path, "det")
    for n, voc in enumerate((voc1, voc2)):
        if n:
            shutil.rmtree(repo.root / "data")
        _images(voc / "Annotations", repo.root / "data")
        _run(sys.executable, "-m", "dvc", "add", "-q", "data", cwd=repo.root)
        git("add", "data.dvc", ".gitignore", cwd=repo.root)
        git("commit", "-qm", f"images {n + 1}", cwd=repo.root)
        _run(sys.executable, "-m", "dvc", "push", "-q", "-r", "annover", cwd=repo.root)
        repo.snapshot(str(voc), source_data=str(repo.root / "data"), message=f"round {n + 1}")
    _publish(repo)
    return repo, bare, voc1, voc2


def test_detection_pipeline_reads_the_same_files_in_two_clones(tmp_path):
    repo, bare, voc1, voc2 = _det_repo(tmp_path)
    outs = [_script("detection_pipeline.py", "v2", "data", str(tmp_path / f"out{n}"),
                    cwd=_clone(bare, tmp_path / f"clone{n}", "v2")) for n in (1, 2)]
    assert outs[0] == outs[1]  # every exported file byte for byte, on both machines
    out = outs[0]
    assert out["version"] == annover.resolve("v2", repo=repo)
    for split in ("train", "val"):
        stems = (voc2 / "ImageSets/Main" / f"{split}.txt").read_text().split()
        boxes = sum((voc2 / "Annotations" / f"{s}.xml").read_text().count("<object>") for s in stems)
        assert out["coco"][split]["images"] == out["yolo"][split]["images"] == len(stems)
        assert out["coco"][split]["boxes"] == out["yolo"][split]["boxes"] == boxes
        assert out["coco"][split]["classes"] == out["yolo"][split]["classes"]
    # a clone that pulled the labels alone (annover pull), not the images: the export with --images
    # names the DVC command that gets the version's images, and that command, run as said, is enough.
    # Before: "no such folder — give the folder the tasks' images are in". For v1 the work tree's
    # data.dvc is v2's: the command checks v1's out first.
    clone = _clone(bare, tmp_path / "labels-only", pull="annover")
    for rev, voc in (("v1", voc1), ("v2", voc2)):
        args = ("export", rev, "--format", "coco", "--out", str(tmp_path / rev), "--images", "data")
        p = subprocess.run([sys.executable, "-m", "annover", *args], cwd=clone, capture_output=True, text=True)
        assert p.returncode == 14, p.stderr
        command = re.search(r"`([^`]*dvc pull[^`]*)`", p.stderr).group(1)
        subprocess.run(command, shell=True, cwd=clone, check=True, capture_output=True)
        _run(sys.executable, "-m", "annover", *args, cwd=clone)
        exported = sorted(f.name for f in (tmp_path / rev).rglob("*.jpg"))
        assert exported == sorted(f"{x.stem}.jpg" for x in voc.glob("Annotations/*"))


def test_ner_conll_and_dataset_agree_with_seqeval(tmp_path):
    pytest.importorskip("seqeval")
    from seqeval.metrics.sequence_labeling import get_entities

    text = (FORMATS / "conll_flair_fashion.conll").read_text("utf-8")
    sentences = [s for s in re.split(r"\n\s*\n", text) if s.strip()]
    (tmp_path / "r1.conll").write_text("\n\n".join(sentences[:4]) + "\n", "utf-8")
    (tmp_path / "r2.conll").write_text("\n\n".join(sentences) + "\n", "utf-8")
    repo, bare = _published(tmp_path, "ner")
    repo.snapshot(str(tmp_path / "r1.conll"), message="round 1")
    repo.snapshot(str(tmp_path / "r2.conll"), message="round 2")
    _publish(repo)
    clone = _clone(bare, tmp_path / "ci", "v2")
    out = _script("ner_tags.py", "v2", str(tmp_path / "v2.conll"), cwd=clone)
    tags = [[line.split()[-1] for line in s.splitlines()] for s in sentences]
    assert out["version"] == annover.resolve("v2", repo=clone)
    assert out["sentences"] == len(sentences) and out["tokens"] == sum(map(len, tags))
    assert out["entities"] == dict(sorted(Counter(e[0] for t in tags for e in get_entities(t)).items()))
    assert out["f1"] == 1.0

