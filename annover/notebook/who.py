"""Who the annotator is: which of a version's annotators is the person answering in the notebook.

Label Studio names one person by e-mail (a live pull, a full export's ``completed_by`` object) or
by numeric user id (the UI's plain exports), and a version keeps the name it was given. The
notebook knows the person by one name (``annotator=``, default git's user.email). An annotation
is theirs when its annotator is that name, the same e-mail in other case (Label Studio's e-mails
are not case-sensitive), or a user id the data maps to that e-mail: the repository's users
(``.annover/users.json``) and the version's own annotations that give a user as ``{id, email}``.
An id two of these map to different e-mails (user ids are per server) is nobody's; an id nothing
maps, a login name, or another e-mail is never the person.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from annover._lazy import lazy
from annover.formats.ls_writer import answer_out, apply
from annover.repo import Repo
from annover.repo.reading import Users

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    pc = lazy("pyarrow.compute")

__all__ = ["Who", "who_in"]

#: a user id as Label Studio gives it: digits (ASCII: "²" is a digit to isdigit), not too long for one
_MAX_ID_DIGITS = 18


def _uid(name: str) -> int | None:
    return int(name) if name.isascii() and name.isdigit() and len(name) <= _MAX_ID_DIGITS else None


@dataclass(frozen=True)
class Who:
    """The person ``name`` and the user id -> e-mail map that says which ids are whom."""

    name: str
    users: Mapping[int, str] = field(default_factory=dict)

    def _person(self, name: str) -> tuple[str, str]:
        uid = _uid(name)
        if uid is not None and uid in self.users:
            name = self.users[uid]
        return ("email", name.casefold()) if "@" in name else ("name", name)

    def mask(self, annotators: list[str | None]) -> list[bool]:
        """Which of these annotators (a version's ``annotator`` values) are this person."""
        me = self._person(self.name)
        seen: dict[str | None, bool] = {}
        for a in annotators:
            if a not in seen:
                seen[a] = a is not None and self._person(a) == me
        return [seen[a] for a in annotators]


def _pairs(ann: "pa.Table") -> Iterable[tuple[int, str]]:
    """(user id, e-mail) of every ``completed_by`` object of the annotations ``ann`` that gave both."""
    if ann.num_rows == 0 or "ls_original" not in ann.column_names:
        return
    given = ann.filter(pc.match_substring(ann.column("ls_original"), '"completed_by"'))  # few rows: read them
    for r in given.to_pylist():
        d = json.loads(r["ls_original"]).get("a")
        user: Any = apply(answer_out({**r, "ls_annotation_id": None}, True), d).get("completed_by") if d else None
        if isinstance(user, dict) and type(user.get("id")) is int and isinstance(user.get("email"), str):
            yield user["id"], user["email"]


def _agreed(*maps: Iterable[tuple[int, str]]) -> dict[int, str]:
    """One id -> e-mail map of several, without the ids they give different e-mails."""
    out: dict[int, str] = {}
    clash: set[int] = set()
    for m in maps:
        for uid, email in m:
            if uid in out and out[uid].casefold() != email.casefold():
                clash.add(uid)
            out.setdefault(uid, email)
    return {uid: e for uid, e in out.items() if uid not in clash}


def who_in(repo: Repo | None, name: str, ann: "pa.Table") -> Who:
    """The person ``name`` among the annotators of ``ann`` (a version's annotations), with what the
    repository and those annotations say of user ids."""
    known = Users.load(repo.dir).mapping().items() if repo is not None else ()
    return Who(name, _agreed(known, _pairs(ann)))
