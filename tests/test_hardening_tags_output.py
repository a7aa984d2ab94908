"""Hardening (issue 16): tags moved by hand (16.8), exports onto the repository's own files (16.9),
terminal escapes in what annover prints (16.10).

Each test walks a user's steps with real git, real DVC and the real ``annover`` entry point.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import annover

from .conftest import git, run_cli, shared_corpus

SNAP = ("--key", "data.ext_id")
#: what a terminal acts on: C0 but newline, DEL, C1, bidi overrides/isolates, line separators
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _round3(root: Path) -> str:
    data = json.loads((root / "round2.json").read_text())
    data[0]["data"]["text"] += " (edited)"
    (root / "r3.json").write_text(json.dumps(data))
    return "r3.json"


def _tag_commit(root: Path, name: str) -> str:
    return git("rev-parse", f"{name}^{{commit}}", cwd=root).strip()


# ---------------------------------------------------------------- 16.8 a tag moved by hand


def test_a_git_tag_moved_by_hand_is_reported_not_followed_and_never_reverted(two_rounds):
    repo, v1, v2 = two_rounds
    root = repo.root
    git("tag", "-f", "v1", "v2", cwd=root)  # the user's move, with plain git
    moved_to = _tag_commit(root, "v2")

    p = run_cli("show", "v1", cwd=root)
    assert p.returncode == 7, p.stderr
    assert "git's tag v1 does not name the version annover recorded" in p.stderr and v1.id[:12] in p.stderr and v2.id[:12] in p.stderr
    assert f"annover tag v1 {v2.id[:12]} --force" in p.stderr and p.stdout == ""
    with pytest.raises(annover.AnnoverError, match="does not name the version annover recorded"):
        annover.load("v1", repo=root)  # a training script does not silently get other labels

    st = run_cli("status", "--no-remote", cwd=root, check=True)
    assert "moved tag: git's tag v1 does not name the version annover recorded" in st.stdout
    moved = json.loads(run_cli("status", "--no-remote", "--json", cwd=root, check=True).stdout)["moved_tags"]
    assert moved == [{"name": "v1", "recorded": v1.id, "now": v2.id, "by": "git", "commit": moved_to}]
    assert "warning: git's tag v1 does not name the version annover recorded" in run_cli("log", cwd=root, check=True).stderr

    # the next snapshot neither reverts the move nor is blocked by it
    snap = run_cli("snapshot", "--from", _round3(root), *SNAP, "-m", "round 3", cwd=root)
    assert snap.returncode == 0, snap.stderr
    assert _tag_commit(root, "v1") == moved_to
    assert run_cli("show", "v1", cwd=root).returncode == 7

    # annover tag --force settles it: here the move is kept
    p = run_cli("tag", "v1", v2.id[:12], "--force", cwd=root, check=True)
    assert _tag_commit(root, "v1") == moved_to
    assert json.loads(run_cli("show", "v1", "--json", cwd=root, check=True).stdout)["id"] == v2.id
    assert json.loads(run_cli("status", "--no-remote", "--json", cwd=root, check=True).stdout)["moved_tags"] == []
    assert "moved outside" not in run_cli("log", cwd=root, check=True).stderr
    assert git("status", "--porcelain", "--", ".annover", cwd=root) == ""


def test_putting_a_moved_tag_back_restores_gits_tag(two_rounds):
    repo, v1, v2 = two_rounds
    root = repo.root
    made_for = _tag_commit(root, "v1")
    git("tag", "-f", "v1", "v2", cwd=root)
    p = run_cli("tag", "v1", "v2", cwd=root)  # without --force: refused, and says why
    assert p.returncode == 2 and "does not name the version annover recorded" in p.stderr
    p = run_cli("tag", "v1", v1.id[:12], "--force", cwd=root, check=True)
    assert _tag_commit(root, "v1") == made_for
    assert annover.Repo(root).resolve("v1") == v1.id


def test_a_tag_file_edited_by_hand_is_reported_and_kept_until_tag_force(two_rounds):
    repo, v1, v2 = two_rounds
    root = repo.root
    tag_file = root / ".annover" / "refs" / "tags" / "v1"
    tag_file.write_text(v2.id + "\n")  # the user's move, by editing annover's file

    p = run_cli("show", "v1", cwd=root)
    assert p.returncode == 7 and "changed by hand" in p.stderr and v2.id[:12] in p.stderr, p.stderr
    st = json.loads(run_cli("status", "--no-remote", "--json", cwd=root, check=True).stdout)
    assert st["moved_tags"] == [{"name": "v1", "recorded": v1.id, "now": v2.id, "by": "file", "commit": None}]

    snap = run_cli("snapshot", "--from", _round3(root), *SNAP, "-m", "round 3", cwd=root)
    assert snap.returncode == 0, snap.stderr
    assert tag_file.read_text() == v2.id + "\n", "the snapshot put the user's edit back"
    assert "restored .annover/refs/tags/v1" not in snap.stderr

    run_cli("tag", "v1", "v2", "--force", cwd=root, check=True)
    assert annover.Repo(root).resolve("v1") == v2.id
    assert _tag_commit(root, "v1") == _tag_commit(root, "v2")
    assert git("show", "HEAD:.annover/refs/tags/v1", cwd=root).strip() == v2.id
    assert git("status", "--porcelain", "--", ".annover", cwd=root) == ""


def test_tags_moved_by_annover_are_not_reported(two_rounds):
    repo, v1, v2 = two_rounds
    root = repo.root
    repo.tag("baseline", "v1")
    repo.tag("baseline", "v2", force=True)
    assert annover.Repo(root).moved_tags() == []
    git("checkout", "-q", "v1", cwd=root)  # an old checkout: its tag files know nothing of baseline
    r = annover.Repo(root)
    assert r.moved_tags() == [] and r.resolve("baseline") == v2.id


# ---------------------------------------------------------------- 16.9 export onto the repository's files


def _state(root: Path) -> dict[str, str]:
    """Every file annover, git's config and DVC keep, with its digest."""
    files = [p for d in (".annover", ".dvc") for p in (root / d).rglob("*") if p.is_file()]
    files += [root / ".git" / "config", root / ".git" / "HEAD"]
    skip = {"lock", "logs"}
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files
            if not skip & set(p.relative_to(root).parts) and "tmp" not in p.relative_to(root).parts}


@pytest.mark.parametrize("out", [".annover/HEAD", ".annover/refs/tags/v1", ".annover/objects.dvc", ".git/config",
                                 ".git/HEAD", ".dvc/config", ".annover", ".git", ".", ".annover/new.json",
                                 "copy.dvc"])
def test_export_onto_the_repositorys_own_files_is_refused(two_rounds, out):
    repo, v1, v2 = two_rounds
    root = repo.root
    before = _state(root)
    for force in ((), ("--force",)):
        p = run_cli("export", "v1", "--format", "label-studio", "--out", out, *force, cwd=root)
        assert p.returncode == 2, p.stderr
        assert len(p.stderr.strip().splitlines()) == 1 and "--out" in p.stderr, p.stderr
        assert _state(root) == before
    assert not (root / ".annover" / "new.json").exists() and not (root / "copy.dvc").exists()
    assert run_cli("log", cwd=root).returncode == 0


@pytest.mark.parametrize("cmd", [
    ["diff", "v1", "v2", "--stat", "--output"],
    ["suspects", "v2", "--out"],
    ["sample", "v2", "--strategy", "random", "--n", "2", "--no-record", "--out"],
    ["report", "v1..v2", "--force", "--out"],
    ["config", "new", "ner", "--labels", "A", "--force", "--out"],
])
@pytest.mark.parametrize("out", [".annover/HEAD", ".annover/config.json", ".git/config", ".dvc/config", "x.dvc"])
def test_every_output_option_refuses_the_repositorys_own_files(two_rounds, cmd, out):
    repo, v1, v2 = two_rounds
    root = repo.root
    before = _state(root)
    p = run_cli(*cmd, out, cwd=root)
    assert p.returncode == 2, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and cmd[-1] in p.stderr and ("would damage" in p.stderr or "DVC pointer" in p.stderr), p.stderr
    assert _state(root) == before and not (root / "x.dvc").exists()
    assert run_cli("log", cwd=root).returncode == 0


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_what_annover_writes_follows_the_umask(two_rounds, umask):
    """Files and folders written through a temporary name (0o600 / 0o700) end with the mode any
    tool would give them: 0o666 / 0o777 less the umask (readable on a shared training machine)."""
    repo, v1, v2 = two_rounds
    root = repo.root
    run = lambda *a: subprocess.run([sys.executable, "-m", "annover", *a], cwd=root, capture_output=True,  # noqa: E731
                                    text=True, preexec_fn=lambda: os.umask(umask), timeout=120)
    for args, out in ((["export", "v2", "--format", "csv", "--out"], "v2.csv"),
                      (["export", "v2", "--format", "hf", "--resolve", "latest", "--out"], "hf"),
                      (["report", "v1..v2", "--out"], "r.html"), (["suspects", "v2", "--out"], "s.txt"),
                      (["diff", "v1", "v2", "--stat", "--output"], "d.parquet")):
        p = run(*args, out)
        assert p.returncode == 0, p.stderr
        made = root / out
        for f in [made, *made.rglob("*")] if made.is_dir() else [made]:
            want = (0o777 if f.is_dir() else 0o666) & ~umask
            assert stat.S_IMODE(f.stat().st_mode) == want, (f, oct(f.stat().st_mode))
    p = run("snapshot", "--from", "round1.json", "--key", "data.ext_id", "-m", "round 1 again")
    assert p.returncode == 0, p.stderr
    assert stat.S_IMODE((root / ".annover" / "HEAD").stat().st_mode) == 0o666 & ~umask  # repository files too


@pytest.mark.parametrize("fmt", ["coco", "yolo", "yolo-obb", "voc"])
def test_an_image_format_of_text_labels_is_refused(two_rounds, fmt):
    """The sample labels <Text>: an image format would write the reviews as image file names."""
    repo, v1, v2 = two_rounds
    p = run_cli("export", "v2", "--format", fmt, "--resolve", "latest", "--out", "out", cwd=repo.root)
    assert p.returncode == 2 and "<Text>, no <Image>" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert not (repo.root / "out").exists()
    assert run_cli("export", "v2", "--format", "conll", "--resolve", "latest", "--out", "out.conll",
                   cwd=repo.root).returncode == 0


def test_export_through_a_symlink_into_git_is_refused(two_rounds):
    repo, v1, v2 = two_rounds
    root = repo.root
    (root / "out.json").symlink_to(root / ".git" / "config")
    config = (root / ".git" / "config").read_bytes()
    p = run_cli("export", "v1", "--format", "label-studio", "--out", "out.json", "--force", cwd=root)
    assert p.returncode == 2 and ".git" in p.stderr
    assert (root / ".git" / "config").read_bytes() == config


@pytest.mark.parametrize("out,why", [("labeling.xml/v1.json", "is a file, not a folder"),
                                     ("labeling.xml/sub/v1.json", "is a file, not a folder"),
                                     ("/proc/annover-v1.json", "cannot write")])
def test_an_unwritable_out_is_a_one_line_usage_error(two_rounds, out, why):
    repo, v1, v2 = two_rounds
    root = repo.root
    p = run_cli("export", "v1", "--format", "label-studio", "--out", out, cwd=root)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: cannot write --out") and why in lines[0]
    assert (root / "labeling.xml").is_file()


def test_an_unwritable_folder_export_is_a_usage_error(two_rounds):
    repo, v1, v2 = two_rounds
    p = run_cli("export", "v1", "--format", "hf", "--resolve", "latest", "--out", "labeling.xml/hf",
                cwd=repo.root)  # a folder format these (text) labels go to
    assert p.returncode == 2 and "is a file, not a folder" in p.stderr, p.stderr


# ---------------------------------------------------------------- 16.10 terminal escapes


EVIL_MESSAGE = "round 1 \x1b]0;pwned\x07 \x1b[2J\u202eevil\x9b31m\rX"
EVIL_ANNOTATOR = "ali\x1b[31mce\u2066@example.com"
EVIL_LABEL = "posi\u202etive"


def _evil_inputs(root: Path) -> None:
    cfg = (root / "labeling.xml").read_text().replace('"positive"', f'"{EVIL_LABEL}"')
    (root / "evil.xml").write_text(cfg)
    for name in ("round1.json", "round2.json"):
        data = json.loads((root / name).read_text())
        for task in data:
            for a in task.get("annotations", []):
                if isinstance(a.get("completed_by"), dict) and a["completed_by"].get("email") == "alice@example.com":
                    a["completed_by"]["email"] = EVIL_ANNOTATOR
                for r in a.get("result", []):
                    ch = r.get("value", {}).get("choices")
                    if ch:
                        r["value"]["choices"] = [EVIL_LABEL if c == "positive" else c for c in ch]
            task["predictions"] = []
        (root / f"evil-{name}").write_text(json.dumps(data))


def test_terminal_escapes_are_shown_escaped_and_json_keeps_them(repo):
    root = repo.root
    _evil_inputs(root)
    run_cli("snapshot", "--from", "evil-round1.json", "--config", "evil.xml", *SNAP, "-m", EVIL_MESSAGE, cwd=root,
            check=True)
    run_cli("snapshot", "--from", "evil-round2.json", *SNAP, "-m", "round 2 \x1b[31m", cwd=root, check=True)
    out = {}  # each command run once: its output checked for raw escapes, then for what it shows
    for args in (("log",), ("log", "--oneline"), ("show", "v1"), ("show", "v2"), ("diff", "v1", "v2"),
                 ("diff", "v1", "v2", "--rows", "--limit", "0"), ("diff", "v1", "v2", "--transitions"),
                 ("status", "--no-remote")):
        p = run_cli(*args, cwd=root)
        assert p.returncode == 0, (args, p.stderr)
        assert not RAW.search(p.stdout) and not RAW.search(p.stderr), (args, RAW.findall(p.stdout + p.stderr))
        out[args] = p.stdout
    log = out[("log",)]
    assert "round 1 \\x1b]0;pwned\\x07 \\x1b[2J\\u202eevil\\x9b31m" in log  # (a CR ends a line there)
    show = out[("show", "v1")]
    assert "ali\\x1b[31mce\\u2066@example.com" in show and "posi\\u202etive" in show
    diff = out[("diff", "v1", "v2", "--rows", "--limit", "0")]
    assert "\\x1b" in diff or "\\u202e" in diff
    # --json: the exact strings, and still nothing raw on the terminal
    for args in (("log", "--json"), ("show", "v1", "--json"), ("diff", "v1", "v2", "--json", "--rows")):
        p = run_cli(*args, cwd=root, check=True)
        assert not RAW.search(p.stdout), args
        out[args] = p.stdout
    versions = json.loads(out[("log", "--json")])
    assert versions[-1]["message"] == EVIL_MESSAGE
    shown = json.loads(out[("show", "v1", "--json")])
    assert EVIL_ANNOTATOR in shown["stats"]["annotators"] and EVIL_LABEL in shown["stats"]["labels"]["sentiment"]


def test_errors_naming_user_text_are_escaped(repo):
    p = run_cli("show", "no\x1b]0;x\x07such\u202e", cwd=repo.root)
    assert p.returncode == 7 and not RAW.search(p.stderr.rstrip("\n")), p.stderr


@pytest.mark.parametrize("cmd", [["log", "-n", "0"], ["log", "-n", "-1"], ["suspects", "v2", "-n", "-1"]])
def test_a_negative_or_zero_count_is_a_usage_error(two_rounds, cmd):
    """`log -n 0` said "no versions yet" of a repository with two."""
    repo, v1, v2 = two_rounds
    p = run_cli(*cmd, cwd=repo.root)
    assert p.returncode == 2 and "-n" in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "no versions yet" not in p.stderr + p.stdout


def test_conll_of_image_labels_is_refused(repo, tmp_path):
    """An image version in CoNLL would be its image file names as O-tagged tokens."""
    repo.snapshot(str(shared_corpus("formats") / "yolo_detect_lssdk"), message="images")
    p = run_cli("export", "v1", "--format", "conll", "--out", str(tmp_path / "x.conll"), cwd=repo.root)
    assert p.returncode == 2 and "<Image>, no <Text>" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.conll").exists()


@pytest.mark.parametrize("cmd", [
    ["diff", "v1", "v2", "--output"],
    ["suspects", "v2", "--out"],
    ["sample", "v2", "--strategy", "random", "--n", "2", "--no-record", "--out"],
    ["report", "v1..v2", "--out"],
    ["export", "v2", "--format", "jsonl", "--out"],
])
def test_an_output_that_cannot_be_written_is_exit_2_before_the_work(two_rounds, tmp_path, cmd):
    """A folder under a file, a name too long for the file system, a blank name or '-' (export's
    standard output, tested with it): one line, exit 2, nothing written (these were 'unexpected'
    errors, exit 1, after the work)."""
    repo, v1, v2 = two_rounds
    root = repo.root
    (tmp_path / "afile").write_text("x")
    before = _state(root)
    dash = [] if cmd[0] == "export" else ["-"]
    for out in (str(tmp_path / "afile" / "x.parquet"), str(tmp_path / ("a" * 300 + ".parquet")), " ", *dash):
        p = run_cli(*cmd, out, cwd=root)
        assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, (out[:40], p.stderr)
        assert "unexpected" not in p.stderr and p.stdout == "", p.stderr
    assert _state(root) == before and not (root / " ").exists() and not (root / "-").exists()


def test_tag_without_a_name_lists_the_tags_as_git_tag_does(two_rounds):
    """`annover tag` alone was exit 2 ("Missing argument 'NAME'") where `git tag` lists the tags:
    it lists them now, with the version each names; vN by number."""
    repo, v1, v2 = two_rounds
    root = repo.root
    for i in range(3, 11):  # v3 .. v10: v10 comes after v9, not after v1
        (root / f"r{i}.json").write_text(json.dumps(json.loads((root / "round2.json").read_text())[:i]))
        repo.snapshot(f"r{i}.json", key="data.ext_id", message=f"round {i}")
    assert run_cli("tag", "reviewed", "v1", cwd=root).returncode == 0
    p = run_cli("tag", cwd=root)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    tags = repo.tags()
    lines = p.stdout.splitlines()
    assert [ln.split()[0] for ln in lines] == [f"v{i}" for i in range(1, 11)] + ["reviewed"]
    assert all(ln.split()[1] == tags[ln.split()[0]][:12] for ln in lines)
    assert lines[0].split()[1] == v1.id[:12] and lines[1].split()[1] == v2.id[:12]
    doc = json.loads(run_cli("tag", "--json", cwd=root).stdout)
    assert {d["tag"]: d["version"] for d in doc} == tags and [d["tag"] for d in doc][-2:] == ["v10", "reviewed"]
    p = run_cli("tag", "-d", cwd=root)
    assert p.returncode == 2 and "-d needs the tag's NAME" in p.stderr
