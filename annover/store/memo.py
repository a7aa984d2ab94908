"""What git commits hold, remembered by commit id in the git dir: a commit never changes, so what
was read of one stays true whatever happens to branches, tags or the DVC remote (as git's own
commit-graph file remembers commits).

``annover status`` (and push, pull, gc) want, of every version reachable from HEAD and the tags,
the commit that added its record and the DVC listing that commit's ``objects.dvc`` records.
Found afresh each time, that was a diff of every commit (``git log -c --diff-filter=A``; each
diff reads the versions folder's tree, which holds every version, so the cost grew with the
square of the versions where objects are loose: 0.07 s of CPU at 200 versions, 0.28 s at 500)
and a read of every pointer. With the memo, git lists the commits (``git rev-list``, no diff)
and only commits not seen before are diffed (by the same ``git log``) and read.

What is remembered does not grow with the commits that are not annover's (a code project's
history of 50,000 commits): the file holds a line per commit that added a version record (its
ids, its listing) and the commits seen as *tips*: every commit reachable from a tip was diffed,
and those of them that added records have their line. A walk asks git for its commits (``git
rev-list REVS``, for their order) and for those no tip reaches (``git rev-list REVS --not
TIPS``, none most days; with no tip yet, one ``rev-list --parents`` gives both); only the
latter are diffed, and the newest of them become tips (an old tip their parent drops out; past
1,000 tips the oldest go: forgetting one is safe, its commits are diffed again). At 20,000 code
commits the file went from 20,005 lines (860 KB) to 5; what a status still pays per commit is
the one ``git rev-list`` (0.09 s of git's CPU there, as ``git log --oneline``).

Not remembered: a shallow clone's boundary commits (what git shows them adding changes when
the history is fetched), and no tip is added while the clone is shallow (once the history is
fetched, a tip would reach commits never diffed); nothing is read or written while
``refs/replace/`` holds a ref (``git replace`` changes what a commit id shows) or the refs are
not plain files. The file is one header line (format, the two paths, the SHA-256 of the rest: a
file cut short or edited is not read), a line per annover commit: ``<commit> TAB <version ids
added, space-separated> TAB <listing> TAB <made>`` (listing: empty when not read yet, ``-`` when
the commit has none; made: the one of its versions its ``.annover/HEAD`` names, read only of a
commit that adds a record another commit adds too, empty when not read, ``-`` when none; a line
of three fields is one whose made was not read), and a line ``^<commit>`` per tip. A file that
cannot be written (a read-only clone) is not written.

:class:`WalkMemo` is the same for any per-commit question: ``annover gc`` asks, of every commit
on every ref and reflog, the md5s its ``.dvc`` and ``dvc.lock`` files name (``annover-dvc-files``).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Callable, Iterator

from annover.files import write_atomic
from annover.store.git import Git

__all__ = ["MEMO_FILE", "CommitMemo", "WalkMemo", "memo_name", "parse_added"]

#: the memo's file name, in the git dir, of a repository in its git repository's top folder
MEMO_FILE = "annover-commits"
_FORMAT = "annover-commits 2"
#: the annover commits kept past those of the last walk, before the file is cut back to those
_SLACK = 2000
#: the tips kept (the newest): every commit reachable from one was diffed
_TIPS = 1000
#: what a memo's fields may be (a file whose lines hold others is not read): a commit id, a word
#: (a version id, an md5; no path), a listing
_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_WORD = re.compile(r"[^/\\\s]+")
_LISTING = re.compile(r"[0-9a-f]{32}\.dir")


def memo_name(vdir: str, base: str = MEMO_FILE) -> str:
    """The memo's file name for the versions folder ``vdir``: ``base`` (``annover-commits``) for the
    usual ``.annover/versions/``, one of its own for an annover repository in a subfolder, so that
    two in one git repository do not write over each other's each time."""
    if vdir == ".annover/versions/":
        return base
    return f"{base}-{hashlib.sha256(vdir.encode('utf-8', 'surrogateescape')).hexdigest()[:16]}"


def parse_added(out: str) -> Iterator[tuple[str, str]]:
    """(commit, version id) of each record added in ``git log --format='commit %H' --name-only``
    output, in its order."""
    commit = ""
    for line in out.splitlines():
        if line.startswith("commit "):
            commit = line[7:].strip()
        elif line.endswith(".json") and commit:
            yield commit, line.rsplit("/", 1)[-1][:-5]


#: what a diff of commits shows: commit -> its words (space-free: version ids, md5s), each commit given
Diff = Callable[[list[str]], dict[str, list[str]]]


class WalkMemo:
    """What ``diff`` shows of each commit, remembered in the git dir's file ``name`` (``key``: what
    was asked, in the header): a line per commit it shows words for, and the tips (see the module)."""

    def __init__(self, scm: Git, name: str, key: str, diff: Diff) -> None:
        self.scm, self._key, self._diff = scm, key, diff
        self._added: dict[str, list[str]] = {}  # the commits with words (others: not kept)
        self._tips: dict[str, None] = {}  # oldest first: every commit they reach was diffed
        self._seen: set[str] = set()  # diffed by this process, no words
        self._walked: set[str] = set()  # of walks with no negative rev: each one's ancestors too
        self._forget: set[str] = set()
        self._changed = False
        self._path = self._where(name)
        if self._path is not None:
            self._load(self._path)

    def _where(self, name: str) -> Path | None:
        """The memo's path; None where it is not used (see the module's note)."""
        if not self.scm.plain:  # a linked work tree, GIT_DIR, ...: git's own answer each time
            return None
        git_dir = self.scm.git_dir
        if (git_dir / "info" / "grafts").exists() or (git_dir / "reftable").exists():
            return None
        replace = git_dir / "refs" / "replace"
        try:
            if replace.is_dir() and any(replace.iterdir()):
                return None
            packed = git_dir / "packed-refs"
            if packed.is_file() and b" refs/replace/" in packed.read_bytes():
                return None
        except OSError:
            return None
        return git_dir / name

    def _header(self, body: bytes) -> str:
        return f"{_FORMAT}\t{self._key}\t{hashlib.sha256(body).hexdigest()}\n"

    def _load(self, path: Path) -> None:
        try:
            data = path.read_bytes()
        except OSError:
            return
        head, _, body = data.partition(b"\n")
        if (head + b"\n").decode("utf-8", "replace") != self._header(body):
            return  # another format or folder, cut short, or edited: read afresh
        lines = body.decode("utf-8", "replace").splitlines()
        if not all(self._valid(ln[1:].split("\t") if ln.startswith("^") else ln.split("\t")) for ln in lines):
            return  # a field no walk writes (a listing '../x', a commit not an id): made by hand, read afresh
        for line in lines:
            if line.startswith("^"):
                self._tips[line[1:]] = None
            else:
                self._line(line.split("\t"))

    def _valid(self, fields: list[str]) -> bool:
        """Whether a line's fields are as a walk writes them: a commit id, then words that are no path."""
        return bool(_COMMIT.fullmatch(fields[0])) and len(fields) <= 2 and all(
            _WORD.fullmatch(w) for w in (fields + [""])[1].split())

    def _line(self, fields: list[str]) -> None:
        self._added[fields[0]] = (fields + [""])[1].split()

    def _fields(self, commit: str) -> str:
        return f"{commit}\t{' '.join(self._added.get(commit, []))}"

    def walk(self, *revs: str, listed: list[str] | None = None) -> list[str]:
        """The commits ``git rev-list REVS`` lists (in its order; ``listed``: that list, had
        already), each one's words known."""
        parented = None  # with no tip, every commit is unseen: one walk gives the list and the parents
        if listed is None and not self._tips:
            parented = self.scm.run("rev-list", "--parents", *revs, check=False)
            listed = [ln.split(" ", 1)[0] for ln in parented.splitlines()]
        commits = self.scm.run("rev-list", *revs, check=False).split() if listed is None else listed
        if not any(r == "--not" or r.startswith("^") for r in revs):
            self._walked.update(commits)
        unknown = [c for c in commits if c not in self._added and c not in self._seen]
        if unknown:
            self._learn(self._unseen(revs, parented))
            self._seen.update(unknown)  # each reached from a tip, or diffed now: not asked again in this process
        return commits

    def words(self, commit: str) -> list[str]:
        """What the diff showed of ``commit`` (one :meth:`walk` gave)."""
        return self._added.get(commit, [])

    def _unseen(self, revs: tuple[str, ...], out: str | None = None) -> list[str]:
        """The commits of ``git rev-list REVS`` no tip reaches and not diffed yet; their newest
        (those no other of them has as a parent) become tips, unless the clone is shallow.
        ``out``: ``git rev-list --parents REVS`` where there is no tip, had already."""
        if out is None:
            out = self.scm.run("rev-list", "--parents", "--ignore-missing", "--stdin", *revs, check=False,
                               input="".join(f"^{t}\n" for t in self._tips).encode())
        commits, parents = [], set()
        for line in out.splitlines():
            c, *ps = line.split()
            commits.append(c)
            parents.update(ps)
        negated = any(r == "--not" or r.startswith("^") for r in revs)
        if commits and not negated and not self.scm.shallow():  # every commit the heads reach: seen once learned
            for t in parents & self._tips.keys():  # reached from a new tip
                del self._tips[t]
            self._tips.update((c, None) for c in commits if c not in parents)
            self._changed = True
        return [c for c in commits if c not in self._added and c not in self._seen]

    def _learn(self, commits: list[str]) -> None:
        """Diff ``commits``, remembering each but a shallow clone's boundary."""
        if not commits:
            return
        found = self._diff(commits)
        boundary = self.scm.shallow()
        for c in commits:
            if found.get(c):
                self._added[c] = found[c]
                self._changed |= c not in boundary
            else:
                self._seen.add(c)
        for c in boundary & set(commits):  # used now, not remembered: its diff changes when unshallowed
            self._forget.add(c)

    def _kept(self) -> list[str]:
        return [c for c in self._added if c not in self._forget]

    def save(self) -> None:
        """Write what was learned: the commits with words (those of the walks, and others up to a
        bound: past it, only the tips the walks reached stay, whose commits' lines are all kept)
        and the newest tips."""
        if self._path is None or not self._changed:
            return
        keep = self._kept()
        tips = list(self._tips)[-_TIPS:]
        if len([c for c in keep if c not in self._walked]) > _SLACK:
            keep = [c for c in keep if c in self._walked]  # a tip walked: every commit it reaches was
            tips = [] if self.scm.shallow() else [t for t in tips if t in self._walked]  # (not past a boundary)
        body = "".join([f"{self._fields(c)}\n" for c in keep] + [f"^{t}\n" for t in tips]).encode()
        try:
            write_atomic(self._path, self._header(body).encode() + body)
        except OSError:  # a read-only clone: read afresh next time
            return
        self._changed = False


class CommitMemo(WalkMemo):
    """The records each commit adds under ``vdir`` and the listing its ``pointer`` records."""

    def __init__(self, scm: Git, vdir: str, pointer: str) -> None:
        self.vdir, self.pointer = vdir, pointer
        self._listing: dict[str, str | None] = {}
        self._made: dict[str, str | None] = {}  # the version the commit's .annover/HEAD names, of those it adds
        super().__init__(scm, memo_name(vdir), f"{vdir}\t{pointer}", self._records_added)

    def _valid(self, fields: list[str]) -> bool:
        listing, made = (fields + ["", "", ""])[2:4]
        return len(fields) <= 4 and super()._valid(fields[:2]) and (listing in ("", "-") or bool(
            _LISTING.fullmatch(listing))) and (made in ("", "-") or made in fields[1].split())

    def _line(self, fields: list[str]) -> None:
        commit, vids, listing, made = (fields + ["", "", ""])[:4]
        self._added[commit] = vids.split()
        if listing:
            self._listing[commit] = None if listing == "-" else listing
        if made:
            self._made[commit] = None if made == "-" else made

    def _fields(self, commit: str) -> str:
        line = f"{super()._fields(commit)}\t{self._listing_field(commit)}"
        return line if commit not in self._made else f"{line}\t{self._made[commit] or '-'}"

    def _kept(self) -> list[str]:
        return [c for c in dict.fromkeys([*self._added, *self._listing, *self._made]) if c not in self._forget]

    def added(self, *revs: str, listed: list[str] | None = None) -> dict[str, str]:
        """Version id -> the commit that added its record, of the commits ``git rev-list REVS``
        lists (``listed``: that list, had already), newest first: what ``git log --full-history -c
        --diff-filter=A REVS -- VDIR`` gives (the same walk's order; a merge commit's own records,
        new to every parent)."""
        return {vid: cs[0] for vid, cs in self.adders(*revs, listed=listed).items()}

    def adders(self, *revs: str, listed: list[str] | None = None) -> dict[str, list[str]]:
        """Version id -> every commit that added its record, of those :meth:`added` walks, in
        its order (newest first): one most days; more where a later commit added it again (a
        cherry-pick, a rebase, someone else's branch that took it in, merged by git)."""
        out: dict[str, list[str]] = {}
        for c in self.walk(*revs, listed=listed):
            for vid in self._added.get(c, ()):
                out.setdefault(vid, []).append(c)
        return out

    def _records_added(self, commits: list[str]) -> dict[str, list[str]]:
        """The version ids each commit's records add (one ``git log``)."""
        out = self.scm.run("log", "--no-walk=unsorted", "--stdin", "--full-history", "-c", "--diff-filter=A",
                           "--format=commit %H", "--name-only", "--", self.vdir,
                           input="".join(f"{c}\n" for c in commits).encode(), check=False)
        found: dict[str, list[str]] = {}
        for c, vid in parse_added(out):
            if vid not in found.setdefault(c, []):
                found[c].append(vid)
        return found

    def listings(self, commits: list[str], read: Callable[[list[str]], list[str | None]]) -> list[str | None]:
        """The listing each commit's pointer records; ``read`` reads those not remembered."""
        return self._remembered(self._listing, commits, read)

    def made(self, commits: list[str], read: Callable[[list[str]], list[str | None]]) -> list[str | None]:
        """The version each commit's ``.annover/HEAD`` names, where it is one of those the commit
        adds (None otherwise); ``read`` reads the HEAD files not remembered (their texts)."""
        def versions(todo: list[str]) -> list[str | None]:
            return [h if h in self._added.get(c, ()) else None for c, h in zip(todo, read(todo))]

        return self._remembered(self._made, commits, versions)

    def _remembered(self, known: dict[str, str | None], commits: list[str],
                    read: Callable[[list[str]], list[str | None]]) -> list[str | None]:
        """What ``known`` holds of each commit; ``read`` reads (and ``known`` keeps) what it lacks."""
        todo = [c for c in dict.fromkeys(commits) if c not in known]
        for c, value in zip(todo, read(todo) if todo else []):
            known[c] = value
            self._changed = True
        return [known[c] for c in commits]

    def _listing_field(self, commit: str) -> str:
        if commit not in self._listing:
            return ""
        return self._listing[commit] or "-"
