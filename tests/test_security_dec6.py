"""Hostile and careless input to what landed on Dec 5 and 6 (gc's commit memos and its reading
of the DVC cache, the engines' error lines, the results' HTML): nothing outside the repository
is written or removed, no credential is shown. Real git, real DVC, real files."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

import annover
from annover.errors import NotARepoError
from annover.repo.gc import gc
from annover.repo.remote import commit_memo, reachable

from .conftest import git
from .test_daily_remote import invoke
from .test_security import Attack, published  # noqa: F401 (published: a repository pushed to a folder remote)


def _put(cache: Path, data: bytes, suffix: str = "") -> str:
    """``data`` into the DVC cache under its md5 (``suffix``: ``.dir`` for a listing)."""
    md5 = hashlib.md5(data).hexdigest()
    f = cache / md5[:2] / (md5[2:] + suffix)
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_bytes(data)
    return md5


# ---------------------------------------------------------------------------
# gc: a listing whose paths leave the working store


def test_gc_removes_nothing_outside_the_working_store_a_dropped_listing_names(two_rounds, tmp_path):
    """A dropped version's listing in the DVC cache naming paths outside ``.annover/objects``
    (as ``dvc fetch`` of a hostile repository's commit leaves one: DVC checks no path of a
    listing). Was: gc --force unlinked each such file that existed ('/home/u/.bashrc',
    '../../x'), and the folders it left empty; now only the store's own paths (ab/<62 hex>) are
    files of the working store."""
    repo, _, _ = two_rounds
    root = Path(repo.root)
    listing = repo.dvc.pointer_hash(repo.scm, repo.commit_of(repo.resolve("v2")), repo.rel(repo.dir / "objects.dvc"))
    repo.reset("v1", force=True)
    git("reflog", "expire", "--expire-unreachable=now", "--all", cwd=root)
    cache = repo.dvc.cache_dir()
    absolute, relative = tmp_path / "outside" / "precious.txt", tmp_path / "relative.txt"
    for f in (absolute, relative):
        f.parent.mkdir(exist_ok=True)
        f.write_text("the user's own file\n")
    entries = json.loads((cache / listing[:2] / listing[2:]).read_bytes())
    payload = _put(cache, b"what a hostile remote sent\n")
    up = "../" * len((root / ".annover" / "objects").relative_to(tmp_path).parts)
    entries += [{"md5": payload, "relpath": str(absolute)}, {"md5": payload, "relpath": up + relative.name}]
    (cache / listing[:2] / listing[2:]).write_bytes(json.dumps(entries).encode())
    result = gc(repo, force=True)
    assert listing in result.objects and payload in result.objects  # the dropped listing and what it lists go
    assert absolute.read_text() == "the user's own file\n" and relative.read_text() == "the user's own file\n"
    assert all(p.startswith(".annover/objects/") and ".." not in p for p in result.view), result.view


# ---------------------------------------------------------------------------
# the commit memo (.git/annover-commits): a field no walk writes


def _forge(memo_file: Path, edit) -> None:
    """The memo with its body edited by ``edit`` and its header's SHA-256 made to match (as
    anyone can: the hash finds a file cut short, it proves nothing)."""
    head, _, body = memo_file.read_bytes().partition(b"\n")
    body = edit(body.decode()).encode()
    fmt, rest = head.decode().rsplit("\t", 1)
    memo_file.write_bytes(f"{fmt}\t{hashlib.sha256(body).hexdigest()}\n".encode() + body)


def test_a_memo_naming_a_listing_by_a_path_is_not_read(two_rounds, tmp_path):
    """A memo copied with a repository (a tarball of a clone) or edited, its header's hash right,
    whose listing field is a path ('../../../../x.dir'). Was: taken as the listing of v2's commit:
    push read the file that path names, outside the DVC cache, as the listing (and, its md5 not
    matching, refused to push at all until the memo was deleted by hand); now a line with a field
    no walk writes makes the file unread, and the commits are read afresh."""
    repo, _, v2 = two_rounds
    truth = reachable(repo)
    assert truth[v2.id][1] and len(truth[v2.id][1]) == 36
    memo_file = repo.scm.git_dir / "annover-commits"
    evil = "../../../../../../" + str(tmp_path).lstrip("/") + "/x.dir"
    _forge(memo_file, lambda body: body.replace(truth[v2.id][1], evil))
    assert evil in memo_file.read_text()
    fresh = annover.Repo(repo.root)
    assert reachable(fresh) == truth
    assert commit_memo(fresh).listings([truth[v2.id][0]], lambda todo: [None] * len(todo)) == [truth[v2.id][1]]


# ---------------------------------------------------------------------------
# a repository someone clones: a symbolic link committed in annover's own folder


def _linked_clone(published: Path, top: Path, name: str, target: Path) -> Path:
    """A clone of the published repository whose author committed ``.annover/NAME`` as a
    symbolic link to ``target`` (git checks it out as one, in a folder .gitignore names too)."""
    attack = Attack(published, top)
    link = attack.labels / ".annover" / name
    if link.is_dir():
        subprocess.run(["rm", "-rf", str(link)], check=True)
    elif link.exists():
        link.unlink()
    link.symlink_to(os.path.relpath(target, link.parent))
    git("add", "-f", f".annover/{name}", cwd=attack.labels)
    git("commit", "-q", "-m", f"{name} as a link", cwd=attack.labels)
    victim = attack.clone("victim")
    assert (victim / ".annover" / name).is_symlink()
    return victim


@pytest.mark.parametrize("args", [["status", "--no-remote"], ["pull"], ["tag", "again"]])
def test_a_committed_lock_link_writes_nothing_where_it_leads(published, tmp_path, monkeypatch, args):
    """`.annover/lock` committed as a link to a file outside the clone. Was: any command that
    took the lock (pull, tag, snapshot; even status, which found the 'pid' there and repaired)
    opened the link for writing and emptied the file it leads to, then wrote its pid there."""
    precious = tmp_path / "precious.txt"
    precious.write_text("the user's own file\n")
    victim = _linked_clone(published, tmp_path, "lock", precious)
    monkeypatch.chdir(victim)
    code, out, err = invoke(*args)
    assert precious.read_text() == "the user's own file\n"
    if args[0] != "status":  # a read says what is there, and writes nothing
        assert code == 6 and err.count("\n") == 1 and ".annover/lock is a symbolic link" in err, err


def test_a_committed_store_link_is_refused_before_pull_writes_there(published, tmp_path, monkeypatch):
    """`.annover/objects` committed as a link to a folder outside the clone. Was: `annover pull`
    checked the version's objects out into that folder (files of the author's choosing, outside
    the clone); now it is refused, exit 6, and nothing is written there."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    victim = _linked_clone(published, tmp_path, "objects", elsewhere)
    monkeypatch.chdir(victim)
    code, out, err = invoke("pull")
    assert code == 6 and err.count("\n") == 1 and ".annover/objects is a symbolic link" in err, err
    assert not any(elsewhere.iterdir())


def test_a_notebook_journal_is_not_written_through_a_link_in_the_repository(two_rounds, tmp_path):
    """`.annover/logs/notebook` a link to a folder outside (a clone's commit can hold one: git checks
    it out though .gitignore names logs/). Was: the session's journal, every answer, written there;
    now annotate refuses (exit 6) before the journal is written."""
    repo, _, _ = two_rounds
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (repo.dir / "logs").mkdir(exist_ok=True)
    (repo.dir / "logs" / "notebook").symlink_to(elsewhere)
    with pytest.raises(NotARepoError, match=r"\.annover/logs/notebook is a symbolic link"):
        ann = annover.annotate(repo, "v2", annotator="bob@example.com")
        ann.answer(["positive"])
    assert not any(elsewhere.iterdir())


# ---------------------------------------------------------------------------
# gc: another commit adding a version's record


def test_a_second_commit_adding_a_versions_record_does_not_make_gc_drop_its_listing(two_rounds):
    """A branch fetched from someone else (here a remote-tracking ref), its newest commit adding v1's
    record (public once pushed) beside another pointer (v2's listing), in a clone without git's tags
    (`git fetch --no-tags`, a mirror of branches). Was: gc took that commit as the one that made v1,
    and removed v1's own listing and the objects only it lists, while saying v1 was kept; now the
    listings of every commit that added a kept version's record are kept."""
    repo, v1, v2 = two_rounds
    root = Path(repo.root)
    rel = repo.rel(repo.dir)
    spec = {p: git("rev-parse", f"HEAD:{rel}/{p}", cwd=root).strip() for p in (f"versions/{v1.id}.json", "objects.dvc")}
    index = root / ".git" / "evil-index"
    env = {**os.environ, "GIT_INDEX_FILE": str(index)}
    for p, blob in spec.items():
        subprocess.run(["git", "update-index", "--add", "--cacheinfo", f"100644,{blob},{rel}/{p}"], cwd=root, env=env,
                       check=True)
    tree = subprocess.run(["git", "write-tree"], cwd=root, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()
    index.unlink()
    dated = {**os.environ, "GIT_AUTHOR_DATE": "2030-01-01T00:00:00", "GIT_COMMITTER_DATE": "2030-01-01T00:00:00"}
    commit = subprocess.run(["git", "commit-tree", tree, "-m", "a teammate's branch"], cwd=root, env=dated,
                            check=True, capture_output=True, text=True).stdout.strip()
    git("update-ref", "refs/remotes/origin/theirs", commit, cwd=root)
    git("tag", "-d", "v1", "v2", cwd=root)
    needed = {r.md5 for r in repo.objects_of(repo.version(v1.id))}
    result = gc(annover.Repo(root), force=True)
    assert v1.id in result.kept and not needed & set(result.objects), sorted(needed & set(result.objects))
    assert repo.export("v1", "jsonl", root / "v1.jsonl").rows > 0


# ---------------------------------------------------------------------------
# DVC's config: a line it cannot parse is named by its number, never quoted


@pytest.mark.parametrize("args", [["push"], ["pull"]])
def test_a_dvc_config_line_that_does_not_parse_is_not_quoted(two_rounds, monkeypatch, args):
    """`.dvc/config.local` (where the keys are) edited by hand, '=' left out of a key's line. Was:
    `Error: unexpected ConfigError: config file error: Invalid line ('    secret_access_key
    wJalr...')`, exit 1 'a bug in annover', the key on the terminal and in CI's log; now exit 6
    naming the file and the line's number."""
    repo, _, _ = two_rounds
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
    local = Path(repo.root) / ".dvc" / "config.local"
    local.write_text(f'[remote "annover"]\n    access_key_id = AKIAEXAMPLE\n    secret_access_key {secret}\n')
    monkeypatch.chdir(repo.root)
    code, out, err = invoke(*args)
    assert secret not in out + err and "wJalr" not in err, err
    assert code == 6 and err.count("\n") == 1 and "config.local: DVC cannot read it: line 3" in err, err


# ---------------------------------------------------------------------------
# a link to /dev/zero a clone holds: read as a file, it takes all memory


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (_MEMORY, _MEMORY))


#: the address space the command may take here: reading /dev/zero whole fails fast, not the machine
_MEMORY = 2 * 2**30


def _run_capped(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run([sys.executable, "-m", "annover", *args], cwd=root, capture_output=True, text=True,
                          env=env, timeout=300, preexec_fn=_capped)


def test_gc_does_not_read_a_dvc_file_that_is_a_link_to_a_device(two_rounds):
    """`data.dvc` committed as a link to /dev/zero. Was: gc read it whole for the md5s it names
    (the user's own DVC data it keeps): MemoryError at best, the machine's memory at worst; now
    only regular files are read, and gc runs."""
    repo, _, _ = two_rounds
    root = Path(repo.root)
    (root / "data.dvc").symlink_to("/dev/zero")
    git("add", "data.dvc", cwd=root)
    git("commit", "-q", "-m", "data.dvc", cwd=root)
    p = _run_capped(root, "gc", "--json")
    assert p.returncode == 0 and "MemoryError" not in p.stderr, p.stderr
    assert json.loads(p.stdout)["versions_kept"] == 2


def test_a_head_file_that_is_a_link_to_a_device_is_not_read_whole(two_rounds):
    """`.annover/HEAD` a link to /dev/zero: it was read whole (MemoryError, or all the machine's
    memory); a ref is read up to 4 KB."""
    repo, _, _ = two_rounds
    head = repo.dir / "HEAD"
    head.unlink()
    head.symlink_to("/dev/zero")
    p = _run_capped(Path(repo.root), "status", "--no-remote")
    assert "MemoryError" not in p.stderr, p.stderr
