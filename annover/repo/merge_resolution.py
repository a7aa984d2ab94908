"""A merge's conflicts settled one by one: ``annover merge REV --resolve FILE``, ``Repo.merge(rev,
resolve={...})``, as a git user settles each conflicting path with ``git checkout --ours/--theirs``.

A resolution is one JSON object, every member optional::

    {"tasks": {"t1": "ours", "t4": "theirs"}, "config": "theirs", "source": "ours"}

``tasks`` gives the side that takes each conflicting task named (its conflicting answers, or
the whole task where one side removed it), ``config`` and ``source`` the side of the labeling
config and of the source data when they conflict. Task keys sit under ``tasks`` because a task
key can be any text, ``config`` too. ``favor`` (``--ours`` / ``--theirs``) takes the conflicts
it does not name; with neither, those stop the merge as before (exit 16, nothing written).

It is checked twice, writing nothing when it is wrong: its shape as it is read
(:func:`read_resolution`, :func:`resolution_of`: JSON, a member twice, a side that is not
``ours`` or ``theirs``), then against the merge's conflicts (:func:`check_against`): a name
that is not a conflict of this merge is refused, since a file made for another merge (or
before the sides changed) would settle nothing it was meant to. From a file the errors are
exit 3 (a missing file 14), as for every input file; from the Python API, exit 2.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from annover.errors import AnnoverError, InputError, UsageError
from annover.formats.text import check_readable, missing, utf8_text
from annover.model.threeway import SIDES, Conflict

__all__ = ["RECORDED", "Resolution", "check_against", "read_resolution", "recorded", "resolution_of"]

#: the members of a resolution
MEMBERS = ("tasks", "config", "source")
#: up to how many conflicting tasks the merge version's ``origin`` lists one by one (counts above)
RECORDED = 100
_SHAPE = '{"tasks": {"TASK_KEY": "ours" or "theirs", ...}, "config": "ours" or "theirs", "source": ...}'


class _Pairs(dict):
    """A JSON object as read, with the first key it holds twice (``twice``; JSON allows it, and
    a dict would keep the last without a word)."""

    twice: str | None = None


def _pairs(items: list[tuple[str, Any]]) -> _Pairs:
    out = _Pairs()
    for k, v in items:
        if k in out and out.twice is None:
            out.twice = k
        out[k] = v
    return out


def _q(value: Any) -> str:
    """A key or value as an error shows it: JSON, escaped (a control character or a lone
    surrogate printed as such), cut at 60 characters."""
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class Resolution:
    """The sides a resolution gives: per conflicting task key (``tasks``), the labeling
    ``config``'s and the ``source`` data's; ``where`` is what errors name (the file, or
    ``resolve=``), ``from_file`` whether it was read from one (exit 3 then, else 2)."""

    tasks: dict[str, str] = field(default_factory=dict)
    config: str | None = None
    source: str | None = None
    where: str = "resolve="
    from_file: bool = False

    def error(self, what: str, fix: str) -> AnnoverError:
        """The error for this resolution: ``what`` names the field first (``tasks: "t1": ...``)."""
        return (InputError if self.from_file else UsageError)(f"{self.where}: {what}", fix)

    def side_of(self, name: str) -> str | None:
        """The side given for ``config`` or ``source``."""
        return self.config if name == "config" else self.source


def read_resolution(path: str) -> Resolution:
    """The resolution in the JSON file ``path`` (``--resolve FILE``): InputError (exit 3)
    naming the file and the field where it is not one, NotFoundError (exit 14) when it is missing."""
    p = Path(path)
    if not p.exists():
        raise missing(path, "--resolve")
    check_readable(p, streams=True, option="--resolve")  # a FIFO refused; `<(jq ...)` read once
    try:
        text = utf8_text(p)
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a file (--resolve)", f"give --resolve a JSON file: {_SHAPE}") \
            from None
    except OSError as e:
        raise InputError(f"{path}: cannot be read: {e.strerror or e} (--resolve)",
                         "check the path and its permissions") from None
    if not text.strip():
        raise InputError(f"{path}: the file is empty (--resolve)", f"write {_SHAPE}, e.g. from `annover merge REV "
                         "--dry-run --json` (docs/commands.md#annover-merge shows the one-liner)")
    try:
        doc = json.loads(text, object_pairs_hook=_pairs)
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: not valid JSON at line {e.lineno} column {e.colno}: {e.msg} (--resolve)",
                         f"fix the JSON there; a resolution is {_SHAPE}") from None
    except RecursionError:
        raise InputError(f"{path}: JSON nested more deeply than Python can read (--resolve)",
                         f"a resolution is {_SHAPE}") from None
    return resolution_of(doc, str(path), from_file=True)


def resolution_of(doc: Any, where: str = "resolve=", from_file: bool = False) -> Resolution:
    """``doc`` (a parsed resolution, or what ``Repo.merge(resolve=...)`` was given) checked
    for shape: an error naming ``where`` and the field when it is not a resolution."""
    empty = Resolution(where=where, from_file=from_file)
    if isinstance(doc, Resolution):
        return doc
    if not isinstance(doc, Mapping):
        raise empty.error(f"expected a JSON object, not {_kind(doc)}", f"a resolution is {_SHAPE}")
    if isinstance(doc, _Pairs) and doc.twice is not None:
        raise empty.error(f"{_q(doc.twice)} is given twice", "give each member once")
    for k in doc:
        if k not in MEMBERS:
            hint = (f'task keys go under "tasks": {{"tasks": {{{_q(k)}: "theirs"}}}}' if isinstance(k, str)
                    else f"a resolution is {_SHAPE}")
            raise empty.error(f"{_q(k) if isinstance(k, str) else repr(k)[:60]}: not a member of a resolution "
                              f"({', '.join(MEMBERS)})", hint)
    tasks = doc.get("tasks", {})
    if not isinstance(tasks, Mapping):
        raise empty.error(f'tasks: expected an object of task keys to "ours" or "theirs", not {_kind(tasks)}',
                          'write {"tasks": {"t1": "theirs", ...}}')
    if isinstance(tasks, _Pairs) and tasks.twice is not None:
        raise empty.error(f"tasks: {_q(tasks.twice)} is named twice", "name each task once, with the side it takes")
    for k, side in tasks.items():
        if not isinstance(k, str):
            raise empty.error(f"tasks: {repr(k)[:60]} is not a task key (a string)", "give task keys as strings")
        _check_side(empty, f"tasks: {_q(k)}", side)
    for name in ("config", "source"):
        if name in doc:
            _check_side(empty, name, doc[name])
    return Resolution(dict(tasks), doc.get("config"), doc.get("source"), where, from_file)


def _check_side(r: Resolution, what: str, side: Any) -> None:
    if not isinstance(side, str) or side not in SIDES:
        raise r.error(f"{what}: {_q(side)} is not a side", 'write "ours" (HEAD\'s) or "theirs" (REV\'s)')


def _kind(v: Any) -> str:
    return {list: "a list", str: "a string", bool: "true or false", type(None): "null"}.get(
        type(v), "a number" if isinstance(v, (int, float)) else type(v).__name__)


def check_against(r: Resolution, conflicts: list[Conflict], blobs: Mapping[str, str], rev: str) -> None:
    """Refuse ``r`` where it names what is not a conflict of this merge (``conflicts``, and
    ``blobs``: where the ``config`` and the ``source`` came from, ``conflict`` when they do)."""
    keys = {c.task_key for c in conflicts}
    stray = sorted(k for k in r.tasks if k not in keys)
    if stray:
        listed = ", ".join(_q(c.task_key) for c in conflicts[:5]) + (" ..." if len(conflicts) > 5 else "")
        has = f"its {len(conflicts)} conflicting task(s): {listed}" if conflicts else "it has no conflicting task"
        more = f" (and {len(stray) - 1} more task(s) named that do not)" if len(stray) > 1 else ""
        raise r.error(f"tasks: {_q(stray[0])}: not a conflict of this merge of {rev} ({has}){more}",
                      f"take it out of {r.where}; `annover merge {rev} --dry-run --json` lists the conflicts")
    for name, label in (("config", "the labeling config"), ("source", "the source data")):
        if r.side_of(name) is not None and blobs.get(name) != "conflict":
            raise r.error(f"{name}: {label} does not conflict in this merge of {rev} "
                          f"({blobs.get(name, 'unchanged')})", f'take "{name}" out of {r.where}')


def recorded(r: Resolution, conflicts: list[Conflict], taken: Mapping[str, str]) -> dict:
    """What a merge version's ``origin`` keeps of a resolution: how many conflicting tasks each
    side took, which side each took (up to :data:`RECORDED` conflicts: counts alone above), and
    the side of the labeling config and source data where they conflicted. Never the file's name."""
    sides = [c.taken for c in conflicts]
    out: dict[str, Any] = {"named": sum(1 for c in conflicts if c.task_key in r.tasks),
                           "ours": sides.count("ours"), "theirs": sides.count("theirs")}
    if len(conflicts) <= RECORDED:
        out["tasks"] = {c.task_key: c.taken for c in conflicts}
    out.update(taken)
    return out
