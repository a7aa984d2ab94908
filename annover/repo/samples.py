"""Recorded samples (``annover sample``) found again: by id, by record file, or a file of task keys.

A selection is recorded as ``.annover/samples/<id>.json`` (see
:func:`annover.loop.api.sample_record`): the version it was drawn from, how, and the task
keys. ``dataset push --from-sample`` and the notebook's ``annotate(repo, sample=...)`` take
one of:

- a sample id, or a unique prefix of one (four characters or more);
- the path of a record (a sample's ``.json``, wherever it was copied);
- a file of task keys, one a line (what ``annover sample --out`` writes): it does not say
  its version, so the caller names one (``--from VERSION``).

Every key must be a task of the version; nothing is sent or shown otherwise.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annover.errors import InputError, NotFoundError, UsageError
from annover.formats.label_studio import STEM_PREFIX
from annover.formats.text import refuse_special
from annover.loop.api import SAMPLE_SCHEMA, SAMPLES_DIR
from annover.repo.core import RepoCore
from annover.repo.reading import reading_of

__all__ = ["Selection", "find_sample", "push_key"]

_ID = re.compile(r"[0-9a-f]{4,64}")


@dataclass(frozen=True)
class Selection:
    """Task keys of one version to send or label, and where they came from."""

    version: str
    keys: list[str]
    source: str  # how to name it in messages
    id: str | None = None
    model: str | None = None
    record: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"sample": self.id, "source": self.source, "version": self.version, "tasks": len(self.keys),
                "model": self.model}


def find_sample(repo: RepoCore, spec: str, rev: str | None = None) -> Selection:
    """The selection ``spec`` names (see the module), checked against its version's tasks.

    ``rev``: the version of a file of task keys; with a record, it must be the record's version.
    """
    path = Path(spec)
    refuse_special(path, "--from-sample")  # was: "no such file" for a named pipe
    if path.is_file():
        sel = _from_file(repo, path, rev)
    elif _ID.fullmatch(spec.lower()):  # as git takes an id: any case
        sel = _read_record(_by_id(repo, spec.lower()), f"sample {spec}")
    else:
        why = "a sample id is 4 to 64 hex digits" if re.fullmatch(r"[0-9a-fA-F]+", spec) else "not a sample id"
        raise NotFoundError(f"sample {spec!r}: no such file, and {why}",
                            f"give a sample id (annover sample prints it; records are in .annover/{SAMPLES_DIR}/), "
                            "a record file, or the file of task keys annover sample --out wrote")
    if rev is not None and sel.id is not None and repo.resolve(rev) != sel.version:
        raise UsageError(f"--from {rev} is not the version sample {sel.id} was drawn from ({sel.version[:12]})",
                         "leave --from out: the sample names its version")
    _check_keys(repo, sel)
    return sel


def _by_id(repo: RepoCore, spec: str) -> Path:
    folder = repo.dir / SAMPLES_DIR
    found = sorted(folder.glob(f"{spec}*.json")) if folder.is_dir() else []
    if not found:
        raise NotFoundError(f"sample {spec}: no recorded sample has that id",
                            "see the ids in .annover/samples/, or make one with annover sample")
    if len(found) > 1:
        raise UsageError(f"sample {spec}: {len(found)} recorded samples start so "
                         f"({', '.join(p.stem for p in found[:3])})", "give more of the id")
    return found[0]


def _from_file(repo: RepoCore, path: Path, rev: str | None) -> Selection:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read it as UTF-8 text ({e})", "give a sample record or a file of task keys")
    if text.lstrip().startswith("{"):
        return _read_record(path, str(path), text)
    keys = list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))
    if not keys:
        raise InputError(f"{path}: no task keys in it", "give a file with one task key a line (annover sample --out)")
    if rev is None:
        raise UsageError(f"{path} is a list of task keys and does not say its version",
                         "name the version with --from VERSION (or give the sample's id)")
    return Selection(repo.resolve(rev), keys, str(path))


def _read_record(path: Path, where: str, text: str | None = None) -> Selection:
    try:
        doc = json.loads(text if text is not None else path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise InputError(f"{where}: {path.name} is not a JSON sample record ({e})",
                         "give a record annover sample wrote in .annover/samples/")
    if not isinstance(doc, dict) or doc.get("schema") != SAMPLE_SCHEMA:
        raise InputError(f"{where}: {path.name} is not a sample record (field 'schema' is not {SAMPLE_SCHEMA!r})",
                         "give a record annover sample wrote in .annover/samples/")
    keys, version = doc.get("keys"), doc.get("version")
    if not isinstance(version, str) or not version:
        raise InputError(f"{where}: field 'version' is missing or not text", "record the sample again")
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) and k for k in keys):
        raise InputError(f"{where}: field 'keys' is not a non-empty list of task keys", "record the sample again")
    params = doc.get("params") if isinstance(doc.get("params"), dict) else {}
    model = params.get("model", doc.get("model"))
    return Selection(version, list(dict.fromkeys(keys)), where, str(doc.get("id") or path.stem),
                     model if isinstance(model, str) else None, doc)


def _check_keys(repo: RepoCore, sel: Selection) -> None:
    have = set(repo.read_table(sel.version, "tasks", columns=["task_key"]).column("task_key").to_pylist())
    missing = [k for k in sel.keys if k not in have]
    if missing:
        raise InputError(f"{sel.source}: {len(missing)} task key(s) are not tasks of version {sel.version[:12]}, "
                         f"e.g. {missing[0]!r}", "give keys of that version's tasks (annover sample writes them)")


def push_key(repo: RepoCore, version: str) -> str | None:
    """The ``--key`` that finds a version's tasks again in a Label Studio project: the version's own
    ``data.FIELD`` (or ``stem:data.FIELD``) key, else None (the hash of the task data, as snapshots
    key by default)."""
    reading = reading_of(repo.version(repo.resolve(version)))
    key = reading.key if reading is not None else None
    return key if key and key.startswith(("data.", STEM_PREFIX)) else None
