"""Daily use, second pass: what a user meets with push and pull --json when one version fails,
status and push after `annover tag --force`, export --images against the images' real size,
and gc --force beside a running pull. Real git, real DVC (a local folder remote)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from PIL import Image as PILImage
from PIL import ImageOps

import annover
from annover.errors import InputError, LockError, ObjectError, RemoteError
from annover.formats.images_size import image_size
from annover.repo.remote import pull_lock
from annover.store.objects import shard

from .conftest import EXAMPLES, git, shared_corpus
from .test_daily_remote import invoke, ok
from .test_json_schemas import validator
from .test_team import ok as ok_in
from .test_team import team  # noqa: F401  (the fixture: two clones, a bare git remote, a DVC remote)

DVC = Path(sys.executable).with_name("dvc")


def _two_versions(tmp_path: Path, monkeypatch) -> Path:
    """A repository with v1 and v2 and a local DVC remote; the working folder is the repository."""
    root = tmp_path / "labels"
    ok("init", str(root), "--remote", str(tmp_path / "dvc-remote"))
    monkeypatch.chdir(root)
    for f in ("labeling.xml", "round1.json", "round2.json"):
        shutil.copy(EXAMPLES / f, root / f)
    ok("snapshot", "--from", "round1.json", "--config", "labeling.xml", "--key", "data.ext_id", "-m", "round 1")
    ok("snapshot", "--from", "round2.json", "-m", "round 2")
    return root


def _failed_json(command: str, *args: str, code: int) -> tuple[dict, str]:
    """``annover COMMAND ARGS --json`` that fails with ``code``: its document (checked against its
    schema) and its stderr."""
    got, out, err = invoke(command, *args, "--json")
    assert got == code, err
    assert err.startswith("Error: ") and err.count("\n") == 1, err  # the one-line error, as without --json
    doc = json.loads(out)
    assert not list(validator(command).iter_errors(doc))
    assert doc["error"] and err == f"Error: {doc['error']}\n"
    return doc, err


# ---------------------------------------------------------------------- item 1: --json of a push or pull that fails


def test_pull_json_says_what_was_pulled_and_which_version_the_remote_lacks(tmp_path, monkeypatch):
    root = _two_versions(tmp_path, monkeypatch)
    ok("push", "v2")  # v1 never pushed
    repo = annover.Repo(root)
    v1, v2 = repo.resolve("v1"), repo.resolve("v2")
    train = tmp_path / "train"
    git("clone", "-q", str(root), str(train), cwd=tmp_path)
    monkeypatch.chdir(train)
    doc, err = _failed_json("pull", code=RemoteError.exit_code)
    assert doc["moved_versions"] == [v2] and doc["transferred"] > 0
    assert doc["failed"] == [{"version": v1, "tags": ["v1"], "reason": "not-on-remote"}]
    assert "1 version(s) not on the remote: v1 (" in err
    assert annover.Repo(train).read_table("v2").num_rows > 0  # what the document says was pulled is here


def test_push_json_says_what_was_pushed_and_which_version_is_not_here(tmp_path, monkeypatch):
    root = _two_versions(tmp_path, monkeypatch)
    ok("push")
    train = tmp_path / "train"
    git("clone", "-q", str(root), str(train), cwd=tmp_path)
    monkeypatch.chdir(train)
    ok("pull", "v2")  # v1's objects are not in this clone
    backup = tmp_path / "backup"
    assert subprocess.run([str(DVC), "remote", "add", "--local", "backup", str(backup)], cwd=train).returncode == 0
    repo = annover.Repo(train)
    doc, err = _failed_json("push", "--remote", "backup", code=ObjectError.exit_code)
    assert doc["moved_versions"] == [repo.resolve("v2")] and doc["remote"]["name"] == "backup"
    assert doc["failed"] == [{"version": repo.resolve("v1"), "tags": ["v1"], "reason": "not-here"}]
    assert "1 version(s) not pushed" in err


def test_push_json_names_the_version_whose_cache_copy_is_corrupt(tmp_path, monkeypatch):
    root = _two_versions(tmp_path, monkeypatch)
    repo = annover.Repo(root)
    v1 = repo.version(repo.resolve("v1"))
    only_v1 = {r.md5 for r in repo.objects_of(v1)} - {r.md5 for r in repo.objects_of(repo.version(repo.head()))}
    cached = repo.dvc.cache_dir() / shard(sorted(only_v1)[0])
    cached.chmod(0o644)
    cached.write_bytes(b"bit rot" + cached.read_bytes()[7:])
    doc, err = _failed_json("push", code=ObjectError.exit_code)
    assert doc["moved_versions"] == [repo.head()]
    assert "corrupt" in err, err
    assert doc["failed"] == [{"version": v1.id, "tags": ["v1"], "reason": "corrupt-here"}]
    assert "corrupt" in err, err


def test_push_and_pull_json_say_no_failure_on_success(tmp_path, monkeypatch):
    _two_versions(tmp_path, monkeypatch)
    for command in ("push", "pull"):
        code, out, err = invoke(command, "--json")
        assert code == 0, err
        doc = json.loads(out)
        assert doc["failed"] == [] and doc["error"] is None


# ---------------------------------------------------------------------- item 2: the git push status and push say


def _said_publish(text: str) -> list[str]:
    """The `git push ...` command in backquotes in ``text``, as words."""
    found = re.search(r"`(git push [^`]*)`", text)
    assert found, text
    return shlex.split(found.group(1))


def test_status_and_push_say_a_git_push_the_remote_accepts_after_a_tag_moved(team):
    """`reviewed` is on the git remote; A moves it with `annover tag --force`. `annover status` and
    `annover push` said `git push --atomic origin main --tags`, which git refuses (the remote has the
    tag). They now name the moved tag with a + (known offline, from the branch's history the remote
    has): run as said, it publishes the commit and the move; a deletion is said with a :, the same way."""
    a = team.a
    ok_in(a, "snapshot", "--from", str(team.data / "round2.json"), "-m", "round 2")
    ok_in(a, "push")
    git("push", "-q", "--atomic", "origin", "main", "--tags", cwd=a)
    ok_in(a, "tag", "reviewed", "v2", "--force")
    git("remote", "set-url", "origin", "ssh://annover-test.invalid/origin.git", cwd=a)  # not asked: no network
    publish = _said_publish(ok_in(a, "status", "--no-remote")[0])
    assert publish == ["git", "push", "--atomic", "origin", "main", "--tags", "+refs/tags/reviewed"]
    assert json.loads(ok_in(a, "status", "--no-remote", "--json")[0])["git"]["publish"] == shlex.join(publish)
    assert _said_publish(ok_in(a, "push")[1]) == publish
    git("remote", "set-url", "origin", str(team.origin), cwd=a)
    refused = subprocess.run(["git", "push", "--atomic", "origin", "main", "--tags"], cwd=a, capture_output=True)
    assert refused.returncode != 0  # what status said before
    subprocess.run(publish, cwd=a, check=True, capture_output=True)
    remote_tag = git("ls-remote", "--tags", "origin", "reviewed", cwd=a).split()[0]
    assert remote_tag == git("rev-parse", "reviewed", cwd=a).strip()
    assert "up to date with origin/main" in ok_in(a, "status", "--no-remote")[0]
    ok_in(a, "tag", "-d", "reviewed")
    publish = _said_publish(ok_in(a, "status", "--no-remote")[0])
    assert publish == ["git", "push", "--atomic", "origin", "main", "--tags", ":refs/tags/reviewed"]
    subprocess.run(publish, cwd=a, check=True, capture_output=True)
    assert git("ls-remote", "--tags", "origin", "reviewed", cwd=a) == ""


def test_status_says_the_plain_git_push_for_new_tags(team):
    a = team.a
    ok_in(a, "snapshot", "--from", str(team.data / "round2.json"), "-m", "round 2")
    ok_in(a, "tag", "gold", "v2")
    said = _said_publish(ok_in(a, "status", "--no-remote")[0])
    assert said == ["git", "push", "--atomic", "origin", "main", "--tags"]


# ---------------------------------------------------------------------- item 3: export --images and the images' size


BCCD = shared_corpus("formats") / "voc_bccd"  # 25 labelImg files of 640x480 images (the corpus holds no images)


def _bccd_images(folder: Path, sizes: dict[int, tuple[int, int]], turned: tuple[int, ...] = ()) -> dict[str, Path]:
    """A JPEG for each BCCD file, at the size its XML gives, but the i-th at ``sizes[i]``; those ``turned``
    stored sideways with an EXIF orientation 6 (a phone's portrait photo), shown at the XML's size."""
    made = {}
    folder.mkdir()
    for i, f in enumerate(sorted((BCCD / "Annotations").glob("*.xml"))):
        text = f.read_text(encoding="utf-8")
        name = re.search(r"<filename>([^<]+)</filename>", text).group(1)
        w, h = sizes.get(i) or tuple(int(re.search(rf"<{k}>(\d+)</{k}>", text).group(1)) for k in ("width", "height"))
        exif = PILImage.Exif()
        if i in turned:
            w, h = h, w
            exif[0x0112] = 6
        PILImage.new("RGB", (w, h), (i * 9 % 256, 80, 160)).save(folder / name, "JPEG", exif=exif.tobytes())
        made[name] = folder / name
    return made


def test_export_images_says_each_image_whose_size_is_not_its_labels_and_coco_voc_refuse_it(repo, tmp_path):
    """The labels say 640x480; images 3..9 are not (3: turned a quarter, 4..9: half size). The export
    put them beside the labels without a word, and COCO's and VOC's pixel boxes missed them. YOLO (boxes
    in fractions of the image) now warns, one line an image up to five, then the count; --json lists
    them all. COCO and VOC refuse (exit 3), writing nothing. Image 1, stored sideways with an EXIF
    orientation, is shown at 640x480, as Label Studio measured it: not said."""
    assert invoke("snapshot", "--from", str(BCCD), "-m", "bccd", "-q")[0] == 0
    odd = {3: (480, 640), **{i: (320, 240) for i in range(4, 10)}}
    _bccd_images(tmp_path / "data", odd, turned=(1,))
    code, out, err = invoke("export", "v1", "--format", "yolo", "-o", str(tmp_path / "yolo"),
                            "--images", str(tmp_path / "data"), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert not list(validator("export").iter_errors(doc))
    said = doc["images"]["size_mismatches"]
    assert [(m["task"], m["actual"]["width"], m["actual"]["height"]) for m in said] == \
        [(f"BloodImage_{i:05d}", *odd[i]) for i in range(3, 10)]
    assert {(m["recorded"]["width"], m["recorded"]["height"]) for m in said} == {(640, 480)}
    warnings = [ln for ln in err.splitlines() if ln.startswith("warning: ")]
    assert len(warnings) == 6 and "and 2 more image(s)" in warnings[-1] and "(7 in all" in warnings[-1], err
    assert "BloodImage_00003.jpg is 480x640 pixels, but its labels were made on a 640x480 image" in warnings[0]
    assert "not the same shape" in warnings[0] and "a resized copy?" in warnings[1]
    assert "BloodImage_00001" not in err
    for fmt in ("voc", "coco"):
        code, out, err = invoke("export", "v1", "--format", fmt, "-o", str(tmp_path / fmt),
                                "--images", str(tmp_path / "data"))
        assert code == InputError.exit_code and out == "" and err.count("\n") == 1, err
        assert "task 'BloodImage_00003'" in err and "is 480x640 pixels" in err and "(and 6 more image(s))" in err
        assert f"every {fmt.upper()} box of it" in err
        assert not (tmp_path / fmt).exists()  # nothing written
    images_ok = _bccd_images(tmp_path / "right", {}, turned=(1, 2))
    code, out, err = invoke("export", "v1", "--format", "coco", "-o", str(tmp_path / "coco"),
                            "--images", str(tmp_path / "right"))
    assert code == 0 and "warning" not in err, err
    assert len(list((tmp_path / "coco" / "images").iterdir())) == len(images_ok)


def test_image_size_from_the_header_is_the_size_pillow_shows(tmp_path):
    """PNG and JPEG are read from their first bytes, other kinds through Pillow: each size, EXIF
    orientation applied (a quarter turn swaps the sides), is the one Pillow gives once it applies the
    orientation (ImageOps.exif_transpose, which decodes the image); a file that is no image, or is cut
    short, has none."""
    kinds = [("JPEG", {}), ("JPEG", {"progressive": True}), ("PNG", {}), ("WEBP", {}), ("TIFF", {}), ("GIF", {}),
             ("BMP", {})]
    for n, (kind, options) in enumerate(kinds):
        for orientation in (None, 1, 3, 5, 6, 8):
            exif = PILImage.Exif()
            if orientation:
                exif[0x0112] = orientation
                exif[0x010F] = "a maker's note " * 300  # a long EXIF segment before the JPEG's frame header
            p = tmp_path / f"{n}-{orientation}.{kind.lower()}"
            if kind in ("GIF", "BMP"):
                PILImage.new("RGB", (123, 45)).save(p, kind)
            else:
                PILImage.new("RGB", (123, 45)).save(p, kind, exif=exif.tobytes(), **options)
            with PILImage.open(p) as im:
                shown = ImageOps.exif_transpose(im).size
            assert image_size(p) == shown, (kind, options, orientation)
            data = p.read_bytes()
            (tmp_path / "cut").write_bytes(data[:30])
            assert image_size(tmp_path / "cut") in (None, shown, shown[::-1])  # a header cut short: no error
    (tmp_path / "labels.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    assert image_size(tmp_path / "labels.txt") is None
    assert image_size(tmp_path / "nowhere.jpg") is None


# ---------------------------------------------------------------------- item 4: gc --force beside a running pull


def _partial_download(root: Path) -> Path:
    """A temporary file in the DVC cache as DVC names a download under way (``ab/.NAME.tmp``)."""
    cache = root / ".dvc" / "cache" / "files" / "md5" / "ab"
    cache.mkdir(parents=True, exist_ok=True)
    f = cache / ".AbCdEfGhIjKlMnOpQrStUv.tmp"
    f.write_bytes(b"half of a Parquet part")
    return f


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    """annover in its own process (the pull lock is a process's flock), waiting 0.2 s for a lock."""
    env = {**os.environ, "ANNOVER_LOCK_TIMEOUT": "0.2", "ANNOVER_REMOTE_TIMEOUT": "60"}
    return subprocess.run([sys.executable, "-m", "annover", *args], cwd=root, env=env, capture_output=True,
                          text=True)


def test_gc_force_leaves_the_downloads_of_a_pull_under_way_and_pull_waits_for_gc(tmp_path, monkeypatch):
    """`annover gc --force` removed every DVC temporary file in the cache as a partial download a pull
    cut short left, also those of an `annover pull` running at that moment in the same clone, which
    then failed to rename them into place. DVC guards the same with its repository lock, taken by
    `dvc pull` and `dvc gc`: a pull now holds annover's pull lock shared while it writes to the cache,
    and gc --force takes it exclusive, exit 9 while a pull holds it; a pull waits for a gc that holds it.
    A pull cut short holds nothing (the lock goes with its process): what it left gc removes."""
    root = _two_versions(tmp_path, monkeypatch)
    ok("push")
    repo = annover.Repo(root)
    left = _partial_download(root)
    with pull_lock(repo.dir):  # as `annover pull` holds it while it downloads
        gc = _cli(root, "gc", "--force")
        assert gc.returncode == LockError.exit_code, gc.stderr
        assert "an annover pull is writing to the DVC cache" in gc.stderr and gc.stderr.count("\n") == 1
        assert left.exists()
        assert _cli(root, "pull").returncode == 0  # pulls share it
    with pull_lock(repo.dir, exclusive=True):  # as `annover gc --force` holds it while it removes
        pull = _cli(root, "pull")
        assert pull.returncode == LockError.exit_code, pull.stderr
        assert "annover gc --force is removing files from the DVC cache" in pull.stderr
    gc = _cli(root, "gc", "--force", "--json")
    assert gc.returncode == 0, gc.stderr
    assert json.loads(gc.stdout)["partial_downloads"] == 1 and not left.exists()
    assert ".annover" not in git("status", "--porcelain", "--untracked-files=all", cwd=root)  # the lock: ignored
