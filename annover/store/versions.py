"""Version records: what one ``.annover/versions/ID.json`` holds, and how it reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

from annover._html import html_block, html_heading, html_pairs, html_table
from annover.errors import AnnoverError, UsageError
from annover.model.config import results_word
from annover.model.stats import annotator_shown
from annover.store.objects import ObjectRef
from annover.store.snapshots import SnapshotRef


@dataclass(frozen=True)
class Version:
    """One version record, as stored in ``.annover/versions/ID.json``."""

    id: str
    record: dict
    #: reads the version's labeling config (given by the repository that read the record; a copy or a
    #: pickle leaves it out): what :attr:`items_word` reads
    config_text: "Callable[[], str | None] | None" = field(default=None, compare=False, repr=False)

    def __reduce__(self) -> tuple:  # a copy or a pickle keeps the record, not the repository
        return Version, (self.id, self.record)

    def __repr__(self) -> str:
        """One line in a notebook (``repo.log()``, ``repo.show("v2")``): the short id, message, date and
        counts, not the whole record (``.record`` holds it)."""
        s = self.stats
        return (f"Version({self.id[:12]!r}, message={self.message!r}, created_at={self.created_at!r}, "
                f"tasks={s.get('tasks')}, annotations={s.get('annotations')})")

    def _repr_html_(self) -> str:
        """In a notebook (``repo.show("v3")``, a version at the end of a cell): what ``annover show`` says
        without asking the repository (tags, names of other versions): id, parents, author, date, origin,
        message, the counts, the annotators, each control's label counts. Every value escaped."""
        s, o = self.stats, self.record.get("origin") or {}
        where = o.get("path") or (f"{o.get('url')} project {o.get('project_id')}" if o.get("url") else "")
        where = where or (f"by {o.get('annotator')}" if o.get("annotator") else "")
        fields = [("version", self.id), ("parents", [p[:12] for p in self.parents] or None),
                  ("author", self.author), ("date", self.created_at),
                  ("origin", f"{o.get('kind')} {where}".strip() if o else None), ("message", self.message),
                  ("tasks", f"{s.get('tasks')} ({s.get('labeled')} labeled, {s.get('unlabeled')} unlabeled)"),
                  ("annotations",
                   f"{s.get('annotations')} ({s.get('skipped')} skipped), {s.get('regions')} {self._word()}"),
                  ("annotators", [f"{annotator_shown(k)} {n}" for k, n in (s.get("annotators") or {}).items()]
                   or None),
                  ("predictions", [f"{model_named(m)}: {p.get('tasks')} tasks"
                                   for m, p in (s.get("predictions") or {}).items()] or None),
                  ("labeling config", (self.record.get("config") or {}).get("oid", "")[:12] or None)]
        labels = [[ctl, lab, n] for ctl, counts in (s.get("labels") or {}).items() for lab, n in counts.items()]
        parts = [html_pairs(fields)]
        if labels:
            parts += [html_heading("labels"), html_table(["control", "label", "count"], labels,
                                                         more=".stats['labels'] holds them all")]
        first = (self.message or "").splitlines()[0] if self.message else "(no message)"
        return html_block(f"version {self.id[:12]}", *parts, sub=first)

    @property
    def items_word(self) -> str:
        """What ``annover show`` and the notebook call the items of the answers: "regions" where the labeling
        config has a region control (spans, boxes...), else "results"
        (:func:`annover.model.config.results_word`); "results" with no config, or none to read it with."""
        if self.config_text is None or not self.record.get("config"):
            return "results"
        return results_word(self.config_text())

    def _word(self) -> str:
        """:attr:`items_word`, or "results" where the config cannot be read here (not pulled): a repr never fails."""
        try:
            return self.items_word
        except AnnoverError:
            return "results"

    @property
    def parents(self) -> list[str]:
        return list(self.record.get("parents", []))

    @property
    def message(self) -> str:
        return self.record.get("message", "")

    @property
    def author(self) -> str:
        return self.record.get("author", "")

    @property
    def created_at(self) -> str:
        return self.record.get("created_at", "")

    @property
    def stats(self) -> dict:
        return self.record.get("stats", {})

    def snapshot(self, table: str, model_version: str | None = None) -> SnapshotRef | None:
        t = self.record["tables"]
        if table == "predictions":
            preds = t.get("predictions", {})
            if model_version is not None:
                d = preds.get(model_version)
                return SnapshotRef.from_json(d, self._where(f"tables.predictions.{model_version}")) if d else None
            return None
        d = t.get(table)
        return SnapshotRef.from_json(d, self._where(f"tables.{table}")) if d else None

    def _where(self, field: str) -> str:
        return f"version record {self.id[:12]}, field {field}"

    @property
    def model_versions(self) -> list[str]:
        return sorted(self.record["tables"].get("predictions", {}))

    @property
    def config_ref(self) -> ObjectRef | None:
        c = self.record.get("config")
        return ObjectRef.from_json(c, self._where("config")) if c else None

    def to_json(self) -> dict:
        return {"id": self.id, **self.record}


def version_named(given: str, vid: str) -> str:
    """Version ``vid`` as the user named it, with its id: ``HEAD~1 (0123456789ab)``; an id (or a
    prefix of one) given, its first 12 hex digits."""
    return vid[:12] if not given or vid.startswith(given) else f"{given} ({vid[:12]})"


#: how a text names the model version of predictions that had none (stored as "": ``--model ""``)
NO_MODEL_VERSION = '"" (no model_version)'


def model_named(model: str) -> str:
    """Model version ``model`` as a text names it: ``""`` (no model_version) when it is empty."""
    return model if model else NO_MODEL_VERSION


def models_named(models: "Iterable[str]") -> str:
    """Model versions as a text lists them, comma-separated (see :func:`model_named`)."""
    return ", ".join(model_named(m) for m in models)


def check_has_model(v: Version, model: str, given: str, none_hint: str) -> None:
    """Refuse model version ``model`` unless version ``v`` (named ``given`` on the command line)
    holds predictions of it, naming the version and the model versions it has."""
    if model not in v.model_versions:
        raise UsageError(f"version {version_named(given, v.id)} has no predictions of model version {model!r}",
                         f"use one of: {models_named(v.model_versions) or none_hint}")
