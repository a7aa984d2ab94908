"""Reading options a repository remembers from version to version, and the annotators it knows.

A task key scheme (``--key``) and a strictness (``--validate``) are properties of a dataset,
not of one command: the version records the ones it was read with (``origin.reading``), and
the next snapshot reads with them unless told otherwise. A change of key scheme is said out
loud, at the snapshot and in the diff, since tasks then show as removed and added.

Label Studio names annotators by e-mail in a live pull and by numeric user id in a plain
export. The repository learns the id -> e-mail map whenever it talks to a server (and from
``--users FILE``) and keeps it in ``.annover/users.json``, committed with the version, so
the same labels get the same snapshot id whichever way they left Label Studio.

Which tasks to read (``annover.load(rev, tasks=[...])``) is checked here too: :func:`task_keys`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from annover._lazy import lazy
from annover.errors import InputError, NotFoundError, UsageError
from annover.formats.label_studio import IMAGE_KEY
from annover.formats.ls_results import strictness
from annover.formats.text import is_utf8, refuse_special
from annover.formats import IMAGE_FORMATS
from annover.formats.tables import HEAD_KEY
from annover.store.versions import Version

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
else:
    pa = lazy("pyarrow")

__all__ = ["AUTO_KEY", "DEFAULT_LEVEL", "USERS_FILE", "Reading", "Users", "key_change", "own_reading", "reading_of",
           "read_users_file", "remembered", "task_keys"]

#: ``--key auto``: the format's own default (a ``task_key`` column, else a hash of the task's data).
AUTO_KEY = "auto"
#: Strictness when neither the command nor HEAD says one.
DEFAULT_LEVEL = "check"
#: The annotators a repository knows, relative to ``.annover``.
USERS_FILE = "users.json"
USERS_SCHEMA = "annover.users/1"


@dataclass(frozen=True)
class Reading:
    """How a version's input was read: its task key (None: the format's default) and strictness."""

    key: str | None = None
    validate: str = DEFAULT_LEVEL

    def to_json(self) -> dict:
        return {"key": self.key, "validate": self.validate}

    @staticmethod
    def describe_key(key: str | None) -> str:
        if key == IMAGE_KEY:
            return f"--key {key} (the image file name's stem, as COCO, YOLO and VOC key images)"
        return f"--key {key}" if key else "the format's default key (a task_key column or a hash of the data)"


def reading_of(v: Version | None) -> Reading | None:
    """The reading options ``v`` records; None for no version. Versions made before they were
    recorded give the key their Label Studio pull used, if any, and the default strictness."""
    if v is None:
        return None
    origin = v.record.get("origin") or {}
    r = origin.get("reading")
    if isinstance(r, Mapping):
        return Reading(r.get("key") or of_format(origin.get("format")), str(r.get("validate") or DEFAULT_LEVEL))
    sync = origin.get("sync") or {}
    return Reading(sync.get("key") or None, DEFAULT_LEVEL)


def of_format(fmt: Any) -> str | None:
    """The key a format's reader gives its tasks where it is not the format's default hash: an
    image training format keys an image by its file name's stem (``stem:data.image``), so the
    next snapshot of the same images from Label Studio finds the same tasks (versions made
    before the key was recorded say None)."""
    return IMAGE_KEY if fmt in IMAGE_FORMATS else None


def own_reading(fmt: Any, given: str | None, reading: Reading, taken: list[str],
                rule: str | None = None) -> tuple[Reading, list[str]]:
    """The reading of a training-format input (``fmt``), whose reader keys the tasks itself (:func:`of_format`;
    a CoNLL sentence by the hash of its text, or ``rule``: the reader's where the format has no one rule): that
    key, not HEAD's (nor said to be HEAD's, in ``taken``); with ``rule`` :data:`HEAD_KEY` (rows keyed by the
    version exported), the reading as remembered. UsageError for a ``--key`` ``given`` that is another: it would
    be recorded, and not used."""
    if rule == HEAD_KEY:
        return reading, taken
    own = rule if rule is not None else of_format(fmt)
    if given not in (None, AUTO_KEY, own):
        how = (f"an image by its file name without folder and extension (--key {own})" if own
               else "a sentence by the hash of its text")
        raise UsageError(f"--key {given} does not apply to a {fmt} input: its reader keys {how}",
                         "leave --key out")
    return Reading(own, reading.validate), [t for t in taken if not t.startswith("--key ")]


def remembered(head: Reading | None, key: str | None, validate: bool | str | None) -> tuple[Reading, list[str]]:
    """The options to read with: those given, else HEAD's; and what was taken from HEAD (for a note)."""
    taken: list[str] = []
    if key is None:
        eff_key = head.key if head else None
        if eff_key:
            taken.append(f"--key {eff_key}")
    else:
        eff_key = None if key == AUTO_KEY else key
    if validate is None:
        level = head.validate if head else DEFAULT_LEVEL
        if head and level != DEFAULT_LEVEL:
            taken.append(f"--validate {level}")
    else:
        level = strictness(validate)
    return Reading(eff_key, level), taken


def key_change(before: Reading | None, after: Reading | None, what: str) -> str | None:
    """A sentence when the key scheme differs between two versions' readings, else None."""
    if before is None or after is None or before.key == after.key:
        return None
    return (f"{what}: task keys changed scheme, from {Reading.describe_key(before.key)} to "
            f"{Reading.describe_key(after.key)}; the same tasks show as removed and added")


def task_keys(tasks: "Iterable[str] | pa.Array | pa.ChunkedArray | None") -> "pa.Array | None":
    """``load(..., tasks=)`` as an Arrow array of task keys (None: every task). Any iterable of
    strings, or an Arrow array of them (its nulls name no task); unknown and repeated keys are
    kept (they select nothing more). One string is refused: it would be read as its letters."""
    if tasks is None:
        return None
    if isinstance(tasks, (str, bytes)):
        raise UsageError(f"tasks={tasks!r:.60} is one string, and tasks= takes a list of task keys "
                         f"(a string would be read as its letters)", f"pass a list: tasks=[{tasks!r:.60}]")
    if isinstance(tasks, (pa.Array, pa.ChunkedArray)):
        if not (pa.types.is_string(tasks.type) or pa.types.is_large_string(tasks.type)):
            raise UsageError(f"tasks= is an Arrow array of {tasks.type}, not of task keys (strings)",
                             "cast it to strings first: tasks=arr.cast(pyarrow.string())")
        arr = tasks.combine_chunks() if isinstance(tasks, pa.ChunkedArray) else tasks
        return arr.cast(pa.string()).drop_null()
    try:
        keys = list(tasks)
    except TypeError:
        raise UsageError(f"tasks= is {type(tasks).__name__}, not a list of task keys",
                         "pass a list of strings: tasks=['img_042.jpg', ...]") from None
    for i, k in enumerate(keys):
        if not isinstance(k, str):
            raise UsageError(f"tasks=: item {i} is {type(k).__name__} {k!r:.40}, not a task key (a string)",
                             "pass task keys as strings, e.g. tasks=[str(k) for k in keys]")
    try:
        return pa.array(keys, pa.string())
    except UnicodeEncodeError:  # a lone surrogate: no text a task key can hold
        i = next(i for i, k in enumerate(keys) if not is_utf8(k))
        raise UsageError(f"tasks=: item {i} ({keys[i]!r:.40}) is not valid Unicode text (a lone surrogate)",
                         "pass task keys as they are stored, e.g. as load() gives them") from None


# ---------------------------------------------------------------------------
# annotators


_USER_ID = re.compile(r"[0-9]{1,18}")  # ASCII digits: "²".isdigit() is True and int() refuses it


def _ids(m: Mapping[Any, Any], where: str) -> dict[int, str]:
    out: dict[int, str] = {}
    for k, v in m.items():
        if isinstance(k, bool) or not _USER_ID.fullmatch(str(k).strip()) or not isinstance(v, str) or not v:
            raise InputError(f"{where}: entry {k!r}: expected a numeric Label Studio user id and an e-mail",
                             'write {"1": "alice@example.com", ...}')
        out[int(str(k).strip())] = v
    return out


def read_users_file(path: str | Path) -> dict[int, str]:
    """A user id -> e-mail map from ``path``: a JSON object ``{"1": "a@x"}``, Label Studio's
    ``/api/users/`` list (``[{"id": 1, "email": "a@x"}, ...]`` or ``{"results": [...]}``), or a
    CSV with ``id`` and ``email`` columns."""
    p = Path(path)
    refuse_special(p, "--users", reads_once=True)  # a named pipe waited forever; `<(command)` is read once
    if not p.exists() or p.is_dir():
        raise NotFoundError(f"{p}: no such file (--users)", "give a JSON or CSV file of Label Studio user ids and e-mails")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"{p}: byte {e.start} is not UTF-8 (--users)", "save the users file as UTF-8") from None
    except OSError as e:
        raise InputError(f"{p}: cannot read: {e.strerror or e}", "give a readable JSON or CSV users file") from None
    if p.suffix.lower() == ".csv":
        return _users_csv(p, text)
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise InputError(f"{p}: not valid JSON ({e.msg} at line {e.lineno})", "give a JSON or CSV users file") from None
    except RecursionError:
        raise InputError(f"{p}: JSON nested too deeply", "give Label Studio's /api/users/ list or a {id: email} object") from None
    if isinstance(doc, dict) and isinstance(doc.get("results"), list):
        doc = doc["results"]
    if isinstance(doc, list):
        out: dict[int, str] = {}
        for i, u in enumerate(doc):
            if not isinstance(u, dict) or "id" not in u or not (u.get("email") or u.get("username")):
                raise InputError(f"{p}: user {i}: expected an object with 'id' and 'email'",
                                 "give Label Studio's /api/users/ list or a {id: email} object")
            out.update(_ids({u["id"]: u.get("email") or u.get("username")}, f"{p}: user {i}"))
        return out
    if isinstance(doc, dict):
        return _ids(doc, str(p))
    raise InputError(f"{p}: expected a JSON object or list of users", 'write {"1": "alice@example.com", ...}')


def _users_csv(p: Path, text: str) -> dict[int, str]:
    """The ``id``/``email`` columns of a users CSV."""
    reader = csv.DictReader(io.StringIO(text))
    try:
        rows = list(reader)
    except csv.Error as e:
        raise InputError(f"{p}: line {reader.line_num}: not valid CSV ({e})", "write one user a line: id,email") from None
    if rows and not {"id", "email"} <= set(rows[0]):
        raise InputError(f"{p}: the CSV needs 'id' and 'email' columns", "add a header line: id,email")
    return _ids({r["id"]: r["email"] for r in rows}, str(p))


@dataclass
class Users:
    """The annotators a repository knows: per Label Studio server, and given in files."""

    servers: dict[str, dict[int, str]] = field(default_factory=dict)
    given: dict[int, str] = field(default_factory=dict)

    @classmethod
    def load(cls, annover_dir: Path) -> "Users":
        p = annover_dir / USERS_FILE
        if not p.is_file():
            return cls()
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
            return cls({url: _ids(m, str(p)) for url, m in (doc.get("servers") or {}).items()},
                       _ids(doc.get("given") or {}, str(p)))
        except (ValueError, AttributeError, InputError, RecursionError):  # RecursionError: nested too deep
            raise UsageError(f"{p} is damaged", "restore it with `git checkout HEAD -- .annover/users.json`") from None

    def learn(self, server: str | None, users: Mapping[int, str]) -> None:
        if server is None:
            self.given.update(users)
        else:
            self.servers.setdefault(server, {}).update(users)

    def mapping(self) -> dict[int, str]:
        """One id -> e-mail map: ids given in files first, then ids every known server agrees on."""
        merged: dict[int, str] = {}
        clash: set[int] = set()
        for m in self.servers.values():
            for uid, email in m.items():
                if merged.get(uid, email) != email:
                    clash.add(uid)
                merged.setdefault(uid, email)
        out = {uid: e for uid, e in merged.items() if uid not in clash}
        out.update(self.given)
        return out

    def to_bytes(self) -> bytes:
        doc = {"schema": USERS_SCHEMA,
               "servers": {url: {str(k): v for k, v in sorted(m.items())} for url, m in sorted(self.servers.items())},
               "given": {str(k): v for k, v in sorted(self.given.items())}}
        return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()
