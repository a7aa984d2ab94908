"""Four leftovers (Dec 6): the shape of a region pair's F1 in `agreement --json`; the exit code of
`dataset export` on a full disk; folder exports with images and the notebook's save on a full
disk; a repository lock taken on a full disk, then its holder killed.

The full disks are test_disk_full's: a real tmpfs of a few MB where this process may mount one,
else a real file-size limit (`ulimit -f`) of a subprocess.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys

import pytest

import annover

from .conftest import ROOT, git, shared_corpus
from .ls_fixtures import ls, ls_server, project_factory, sdk_admin  # noqa: F401 - fixtures
from .test_cli import invoke
from .test_disk_full import (_limited, assert_whole, cli, fill, inputs, left_over, one_line,  # noqa: F401 - fixtures
                             small_disk, snapshot)
from .test_export_images import BCCD, _images

CORPUS = shared_corpus("label-studio")

#: the figures of `agreement --json`: each an object {"value", "n"[, "note"]}, wherever it stands
FIGURES = {"krippendorff_alpha", "fleiss_kappa", "cohen_kappa", "f1", "f1_any_label"}


def _figures(doc, where: str = "") -> list[tuple[str, object]]:
    """Every (path, figure) of an agreement document, at any depth."""
    out: list[tuple[str, object]] = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k in FIGURES:
                out.append((f"{where}.{k}", v))
            out += _figures(v, f"{where}.{k}")
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _figures(v, f"{where}[{i}]")
    return out


def test_a_region_pair_s_f1_is_an_object_as_every_other_figure(tmp_path, monkeypatch):
    """`agreement --json` gave a region pair's F1 as a bare number (`"f1": 0.366667`) where a
    classification pair's Cohen's kappa, the control's F1 and each label's are objects
    (`{"value": ..., "n": ...}`): a reader of `pairs[i]["f1"]["value"]` failed on boxes. Now every
    figure is an object; the pair's bare number stays as `disagreeing_pairs[].score`."""
    repo = annover.init(tmp_path / "repo")
    monkeypatch.chdir(repo.root)
    code, _, err = invoke("snapshot", "--from", str(CORPUS / "evalme_bbox_multi.json"), "--config",
                          str(CORPUS / "evalme_bbox_multi.xml"), "-m", "three annotators")
    assert code == 0, err
    code, out, err = invoke("agreement", "--json")
    assert code == 0, err
    doc = json.loads(out)
    figures = _figures(doc["controls"])
    assert any(".pairs[" in p for p, _ in figures)
    bad = [(p, f) for p, f in figures if not (isinstance(f, dict) and "value" in f and "n" in f)]
    assert bad == []
    pairs = {(p["a"], p["b"]): p for p in doc["controls"]["label"]["pairs"]}
    one = pairs[("annotator1@example.com", "annotator2@example.com")]
    assert one["f1"] == {"value": 0.366667, "n": 5} and one["tasks"] == 5
    scores = {(p["a"], p["b"]): p["score"] for p in doc["disagreeing_pairs"]}
    assert {k: p["f1"]["value"] for k, p in pairs.items()} == scores


def test_classification_figures_are_objects_too(two_rounds):
    code, out, err = invoke("agreement", "--json")
    assert code == 0, err
    figures = _figures(json.loads(out)["controls"])
    assert figures and all(isinstance(f, dict) and "value" in f for _, f in figures), figures


# ---------------------------------------------------------------- the lock taken on a full disk

#: a snapshot in a child process whose repository lock is taken on a full disk: the real tmpfs
#: (argv[1] "tmpfs": the filler argv[2] removed once the lock is held, so the snapshot's objects
#: fit), or the lock file's write refused as a full disk refuses it (argv[1] "refused"); the
#: snapshot is then killed (SIGKILL) once its objects are written, as test_crash kills one
_KILLED_UNDER_A_FULL_LOCK = r"""
import errno, os, sys
from pathlib import Path
import annover.store.refs as refs
from annover.cli import run

how, filler, src = sys.argv[1:4]
enter = refs.RepoLock.__enter__
real_pwrite = os.pwrite

def full(fd, data, offset):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

def taken(self):
    if how == "refused":
        refs.os.pwrite = full
    held = enter(self)
    refs.os.pwrite = real_pwrite
    if how == "tmpfs" and os.path.exists(filler):
        print("lock file after its pid was refused:", os.path.getsize(self.path), file=sys.stderr, flush=True)
        os.unlink(filler)
    return held

refs.RepoLock.__enter__ = taken
os.environ["ANNOVER_TEST_KILL_AT"] = "after-objects"
sys.exit(run(["snapshot", "--from", src, "--config", "labeling.xml", "--key", "data.ext_id", "-m", "killed"]))
"""


def test_a_writer_killed_holding_a_lock_taken_on_a_full_disk_is_repaired(small_disk, tmp_path, inputs):
    """On a full disk the lock is taken without the holder's pid (its bytes need a block), so the
    lock file stayed empty: a snapshot killed then (its objects written, no commit yet) was not seen
    as killed by the next command, and its objects stayed in the working store, taking the room
    the user had just freed, until some later kill. Now the lock file is marked by its size alone
    (a hole: no block needed), and the next command repairs as after any kill."""
    root = (small_disk or tmp_path) / "repo"
    annover.init(root)
    shutil.copy(inputs["config"], root / "labeling.xml")
    git("add", "labeling.xml", cwd=root)
    git("commit", "-qm", "config", cwd=root)
    assert snapshot(root, inputs["r1"], inputs).returncode == 0
    v1 = annover.Repo(root).head()
    objects = {str(p) for p in (root / ".annover" / "objects").glob("*/*")}
    filler = fill(small_disk, 0) if small_disk is not None else tmp_path / "no-filler"
    p = subprocess.run([sys.executable, "-c", _KILLED_UNDER_A_FULL_LOCK, "tmpfs" if small_disk else "refused",
                        str(filler), str(inputs["r2"])], cwd=root, capture_output=True, text=True, timeout=300)
    assert p.returncode == -signal.SIGKILL, p.stderr
    assert (root / ".annover" / "lock").stat().st_size > 0  # a killed holder's mark, as a pid is
    assert {str(p) for p in (root / ".annover" / "objects").glob("*/*")} > objects  # the killed snapshot's
    log = cli("log", cwd=root)
    assert log.returncode == 0 and "repaired" in log.stderr, log.stderr
    assert left_over(root) == []
    assert_whole(root, [v1])
    assert (root / ".annover" / "lock").read_bytes() == b""
    assert snapshot(root, inputs["r2"], inputs).returncode == 0


# ---------------------------------------------------------------- `dataset export` on a full disk

def _project(project_factory, sdk_admin, n: int, labels: int = 3):
    """A project of ``n`` tasks of 400 characters each, its config of ``labels`` choices."""
    config = ('<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text">'
              + "".join(f'<Choice value="label-{i:04d}-{"x" * 40}"/>' for i in range(labels)) + "</Choices></View>")
    p = project_factory("full-disk", config)
    sdk_admin.projects.import_tasks(id=p.id, request=[{"data": {"text": f"{i:05d} " + "lorem ipsum " * 33}}
                                                      for i in range(n)])
    return p


@pytest.mark.labelstudio
def test_dataset_export_to_a_full_disk_is_exit_2_as_export_is(ls_server, project_factory, sdk_admin, small_disk,
                                                               tmp_path):
    """`annover export --out` to a full disk is exit 2 (README: an --out that cannot be written);
    `annover dataset export --out` there was exit 6 ('Error: x.json: No space left on device — free
    some space (`annover gc` ...)'), a hint about the repository for a file outside it. Now exit 2,
    one line naming --out and what to do, nothing left there; once there is room it is written."""
    p = _project(project_factory, sdk_admin, 60)
    outs = (small_disk or tmp_path) / "out"
    outs.mkdir()
    filler = fill(small_disk, 0) if small_disk is not None else None
    r = cli("dataset", "export", p.title, "--out", str(outs / "x.json"), cwd=tmp_path,
            fsize=None if small_disk is not None else 8000)
    assert r.returncode == 2 and r.stdout == "", r.stderr
    err = one_line(r)
    assert f"cannot write --out {outs / 'x.json'}:" in err, err
    assert ("No space left on device" in err and "free some space on its disk, or give --out a path on another"
            in err if small_disk is not None else "File too large" in err and "ulimit -f" in err), err
    assert "annover gc" not in err
    assert list(outs.iterdir()) == []
    if filler is not None:
        filler.unlink()
    assert cli("dataset", "export", p.title, "--out", str(outs / "x.json"), cwd=tmp_path).returncode == 0
    assert len(json.loads((outs / "x.json").read_text())) == 60


@pytest.mark.labelstudio
def test_dataset_export_whose_config_out_the_disk_refuses_leaves_neither(ls_server, project_factory, sdk_admin,
                                                                         small_disk, tmp_path):
    """The export written, then --config-out refused (a full disk where it goes, a file-size limit
    its larger config passes): exit 2 naming --config-out, and the export just written is removed
    too, so that the command can be run again as it was (not refused for an --out that exists)."""
    p = _project(project_factory, sdk_admin, 1, labels=200)  # a config of 12 KB, an export of 1 KB
    out = tmp_path / "e.json"
    conf = (small_disk or tmp_path) / "c.xml"
    filler = fill(small_disk, 0) if small_disk is not None else None
    r = cli("dataset", "export", p.title, "--out", str(out), "--config-out", str(conf), cwd=tmp_path,
            fsize=None if small_disk is not None else 8000)
    assert r.returncode == 2, r.stderr
    err = one_line(r)
    assert f"cannot write --config-out {conf}:" in err, err
    assert ("give --config-out a path on another" in err if small_disk is not None else "ulimit -f" in err), err
    assert not out.exists() and not conf.exists()
    assert [f for f in conf.parent.iterdir() if f.name.startswith(".")] == []
    if filler is not None:
        filler.unlink()
    r = cli("dataset", "export", p.title, "--out", str(out), "--config-out", str(conf), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert conf.read_text().count("<Choice ") == 200


# ---------------------------------------------------------------- folder exports with images, a full disk

@pytest.mark.parametrize("fmt", ["yolo", "coco", "voc"])
def test_a_folder_export_with_images_the_disk_cannot_hold(small_disk, tmp_path, monkeypatch, fmt):
    """`export --format yolo|coco|voc --images DIR --out FOLDER` on a disk with room for the labels
    and not for the images (copied: DIR is on another file system, so no hard link), or past a
    file-size limit: one line naming --out, exit 2, no folder (not even the temporary one it was
    filling), the repository as it was; once there is room the same export copies every image."""
    root = tmp_path / "repo"
    annover.init(root)
    monkeypatch.chdir(root)
    code, _, err = invoke("snapshot", "--from", str(BCCD), "-m", "bccd", "-q")
    assert code == 0, err
    v1 = annover.Repo(root).head()
    made = _images(tmp_path / "data")
    assert sum(p.stat().st_size for p in made.values()) > 100_000
    outs = (small_disk or tmp_path) / "out"
    outs.mkdir()
    out = outs / fmt
    filler = fill(small_disk, 40_000) if small_disk is not None else None
    p = cli("export", "--format", fmt, "--out", str(out), "--images", str(tmp_path / "data"), cwd=root,
            fsize=None if small_disk is not None else 1000)
    assert p.returncode == 2 and p.stdout == "", p.stderr
    err = one_line(p)
    assert f"cannot write --out {out}:" in err, err
    assert ("No space left on device" in err and "free some space on its disk" in err if small_disk is not None
            else "File too large" in err and "ulimit -f" in err), err
    assert list(outs.iterdir()) == []
    assert left_over(root) == []
    assert_whole(root, [v1])
    if filler is not None:
        filler.unlink()
    p = cli("export", "--format", fmt, "--out", str(out), "--images", str(tmp_path / "data"), "--json", cwd=root)
    assert p.returncode == 0, p.stderr
    placed = json.loads(p.stdout)["images"]
    assert placed["images"] == len(made) and placed["linked"] + placed["copied"] == len(made)
    if small_disk is not None:
        assert placed["copied"] == len(made)  # another file system: copies, which the full disk refused


# ---------------------------------------------------------------- the notebook's save, a full disk

#: the notebook annotator in a child process: answers three tasks (the journal written), then, the
#: disk filled (argv[2], "" for none) or under the parent's `ulimit -f`, saves; prints what it raised
_SAVE_ON_A_FULL_DISK = r"""
import json, sys
from pathlib import Path
import annover
sys.path.insert(0, sys.argv[3])
from tests.test_disk_full import fill

repo = annover.Repo(sys.argv[1])
ann = annover.annotate(repo, "v1", annotator="ds@example.com")
ann.choose("positive"); ann.skip(); ann.choose("negative")
if sys.argv[2]:
    fill(Path(sys.argv[2]), 0)
try:
    ann.save(message="on a full disk")
except Exception as e:
    print(json.dumps({"type": type(e).__name__, "str": str(e), "exit_code": getattr(e, "exit_code", None),
                      "journal": str(ann.session.journal)}))
else:
    print(json.dumps({"type": None}))
"""


def test_the_notebook_s_save_on_a_full_disk(small_disk, tmp_path, inputs):
    """`ann.save()` with no room for the version's objects raised a bare OSError ('[Errno 28] No
    space left on device: .../objects/..'), no AnnoverError as the README says every error is, no
    word of what to do or that the answers are safe. Now a NotARepoError (exit 6, as the CLI's full
    disk) naming the file, saying to free space and save again, the answers in the journal; the
    repository as it was; after freeing space, the session resumed from its journal saves them."""
    root = (small_disk or tmp_path) / "repo"
    repo = annover.init(root)
    cfg = root.parent / "labeling.xml"
    shutil.copy(inputs["config"], cfg)
    repo.snapshot(str(inputs["r1"]), config=str(cfg), key="data.ext_id", message="tasks")
    v1 = repo.head()
    filler = (small_disk / "filler") if small_disk is not None else None
    p = subprocess.run([sys.executable, "-c", _SAVE_ON_A_FULL_DISK, str(root), str(small_disk or ""),
                        str(ROOT)], capture_output=True, text=True, timeout=300,
                       preexec_fn=_limited(None if small_disk is not None else 30_000))  # journal 21 KB, object 35 KB
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout.strip().splitlines()[-1])
    assert got["type"] == "NotWritableError" and got["exit_code"] == 6, got  # a NotARepoError
    assert "\n" not in got["str"] and f"{root}/.annover/objects/" in got["str"], got
    assert ("No space left on device" in got["str"] if small_disk is not None else "File too large" in got["str"])
    assert f"and call save() again: the answers are kept in the journal {got['journal']}" in got["str"], got
    assert left_over(root) == []
    if filler is not None:
        filler.unlink()  # (git status, which refreshes the index, needs room)
    assert_whole(root, [v1])
    ann = annover.annotate(annover.Repo(root), "v1", annotator="ds@example.com")  # resumed from the journal
    res = ann.save(message="with room")
    assert sorted((r["labels"] or [], r["was_cancelled"]) for r in res.answers.to_pylist()) == [
        ([], True), (["negative"], False), (["positive"], False)]
    assert_whole(root, [annover.Repo(root).head(), v1])
