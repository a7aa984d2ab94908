"""Hostile and careless input to what landed on Dec 5 and 6 (gc's commit memos and its reading
of the DVC cache, the engines' error lines, the results' HTML): nothing outside the repository
is written or removed, no credential is shown. Real git, real DVC, real files."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import annover
from annover.repo.gc import gc

from .conftest import git


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
    import hashlib as h

    head, _, body = memo_file.read_bytes().partition(b"\n")
    body = edit(body.decode()).encode()
    fmt, rest = head.decode().rsplit("\t", 1)
    memo_file.write_bytes(f"{fmt}\t{h.sha256(body).hexdigest()}\n".encode() + body)


def test_a_memo_naming_a_listing_by_a_path_is_not_read(two_rounds, tmp_path):
    """A memo copied with a repository (a tarball of a clone) or edited, its header's hash right,
    whose listing field is a path ('../../../../x.dir'). Was: taken as the listing of v2's commit:
    push read the file that path names, outside the DVC cache, as the listing (and, its md5 not
    matching, refused to push at all until the memo was deleted by hand); now a line with a field
    no walk writes makes the file unread, and the commits are read afresh."""
    from annover.repo.remote import commit_memo, reachable

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
