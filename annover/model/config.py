"""Labeling configs (Label Studio XML): safe parsing, controls, validation of results.

XML is first parsed with defusedxml (no DTDs, no entities, no external references), then
handed to label-studio-sdk's LabelInterface, which knows every control's rules.

The SDK's verdict on a config (its controls, labels and objects) depends only on the
config text and the SDK version, and importing the SDK alone takes most of a second, so
the verdict on a valid config is cached per user (``$ANNOVER_CACHE_DIR``, else
``$XDG_CACHE_HOME/annover`` or ``~/.cache/annover``), keyed by the sha256 of both. A
snapshot with a config seen before never imports the SDK unless a result needs its
per-region checks (Label Studio JSON does; flat files are checked against the labels).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annover.errors import ConfigError


@dataclass(frozen=True)
class Control:
    name: str
    tag: str
    to_name: tuple[str, ...]
    labels: tuple[str, ...]

    @property
    def result_type(self) -> str:
        """The ``type`` Label Studio writes for this control's results."""
        return self.tag.lower()


def check_xml(text: str, source: str = "config") -> None:
    """Parse ``text`` safely; ConfigError naming ``source`` if it is not XML or is unsafe."""
    import defusedxml.ElementTree as DET
    from defusedxml import DefusedXmlException

    try:
        DET.fromstring(text)
    except DefusedXmlException as e:
        raise ConfigError(f"{source}: refused unsafe XML ({type(e).__name__})",
                          "remove DOCTYPE/ENTITY declarations from the labeling config") from None
    except Exception as e:  # ParseError
        raise ConfigError(f"{source}: not valid XML: {e}", "fix the labeling config (Label Studio XML)") from None


def cache_dir() -> Path:
    """Where annover keeps per-user caches (never anything a repository needs)."""
    if os.environ.get("ANNOVER_CACHE_DIR"):
        return Path(os.environ["ANNOVER_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "annover"


def _verdict_path(text: str) -> Path | None:
    """The cache file of the SDK's verdict on ``text`` (None when the SDK is not installed)."""
    from importlib import metadata

    try:
        version = metadata.version("label-studio-sdk")
    except metadata.PackageNotFoundError:
        return None
    key = hashlib.sha256(f"label-studio-sdk {version}\0{text}".encode()).hexdigest()
    try:
        return cache_dir() / "configs" / f"{key}.json"
    except RuntimeError:  # no home folder to put a cache in: work without one
        return None


class LabelingConfig:
    """A parsed, validated labeling config.

    With ``background=True`` the label-studio-sdk part (its import alone takes most of a
    second) runs in a thread, so a caller can read its data meanwhile; the first use of
    the parsed config, or :meth:`wait`, joins it and raises its ConfigError if any.
    """

    def __init__(self, text: str, source: str = "config", background: bool = False) -> None:
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(f"{source}: empty labeling config", "give a Label Studio XML config with --config")
        check_xml(text, source)
        self.text = text
        self.source = source
        self._li: Any = None
        self._controls: dict[str, Control] = {}
        self._objects: dict[str, str] = {}
        self._error: BaseException | None = None
        self._thread = None
        if self._load_verdict():
            return
        if background:
            import threading

            self._thread = threading.Thread(target=self._parse_guarded, name="annover-config", daemon=True)
            self._thread.start()
        else:
            self._parse()

    def _parse_guarded(self) -> None:
        try:
            self._parse()
        except BaseException as e:  # re-raised in the caller's thread by wait()
            self._error = e

    def wait(self) -> "LabelingConfig":
        """Join the background parse; raise its error here."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            raise self._error
        return self

    def _load_verdict(self) -> bool:
        """Take the controls and objects from the cache; False when it has no verdict."""
        try:
            path = _verdict_path(self.text)
            d = json.loads(path.read_text(encoding="utf-8")) if path else None
            controls = {n: Control(n, c["tag"], tuple(c["to_name"]), tuple(c["labels"]))
                        for n, c in d["controls"].items()}
            objects = {str(k): str(v) for k, v in d["objects"].items()}
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return False  # no entry, or one this code cannot read: ask the SDK
        if not controls:
            return False
        self._controls, self._objects = controls, objects
        return True

    def _save_verdict(self) -> None:
        """Remember the SDK's verdict on this (valid) config; a cache that cannot be written is skipped."""
        from annover.store.refs import write_atomic

        try:
            path = _verdict_path(self.text)
            if path is None or path.exists():
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            d = {"controls": {n: {"tag": c.tag, "to_name": list(c.to_name), "labels": list(c.labels)}
                              for n, c in self._controls.items()},
                 "objects": self._objects}
            write_atomic(path, json.dumps(d, sort_keys=True).encode())
        except OSError:
            pass

    def _parse(self) -> None:
        text, source = self.text, self.source
        try:
            from label_studio_sdk.label_interface import LabelInterface

            li = LabelInterface(text)
            li.validate()
        except ConfigError:
            raise
        except Exception as e:
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ConfigError(f"{source}: not a valid labeling config: {msg}",
                              "check tag names and that every toName names an object tag") from None
        controls = {}
        for c in li.controls:
            labels = tuple(getattr(c, "labels", None) or ())
            controls[c.name] = Control(c.name, c.tag, tuple(c.to_name or ()), labels)
        objects = {o.name: str(o.value or "").lstrip("$") for o in li.objects}
        # plain attributes, set once here (a cached_property's lock would deadlock with wait())
        self._controls, self._objects, self._li = controls, objects, li
        if not controls:
            raise ConfigError(f"{source}: the labeling config has no control tags",
                              "add a control such as <Choices> or <Labels>")
        # the SDK's own check only sees toName="..." written with double quotes
        for c in controls.values():
            missing = [t for t in c.to_name if t not in objects]
            if missing:
                raise ConfigError(f"{source}: control {c.name!r} has toName={missing[0]!r}, which names no object tag",
                                  f"use one of: {', '.join(sorted(objects)) or '(no object tags)'}")
        self._save_verdict()

    @property
    def li(self) -> Any:
        """label-studio-sdk's LabelInterface for this config."""
        if self._li is None:
            self.wait()
        if self._li is None:  # the verdict came from the cache: build the interface now
            from label_studio_sdk.label_interface import LabelInterface

            self._li = LabelInterface(self.text)
        return self._li

    @classmethod
    def from_file(cls, path: str, background: bool = False) -> "LabelingConfig":
        from pathlib import Path

        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such file", "give the path of a Label Studio XML config") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: cannot read: {e}", "give a UTF-8 Label Studio XML file") from None
        return cls(text, source=str(path), background=background)

    @property
    def controls(self) -> dict[str, Control]:
        """Control tag name -> its tag, object names and labels."""
        self.wait()  # joins the background parse
        return self._controls

    @property
    def objects(self) -> dict[str, str]:
        """Object tag name -> the task data field it reads (``$text`` -> ``text``)."""
        self.wait()
        return self._objects

    def region_errors(self, item: dict) -> list[str]:
        """Why a result item is not allowed by this config (empty list: it is)."""
        if item.get("type") == "relation":
            return []
        try:
            errors = self.li.validate_region(item, return_errors=True)
        except Exception as e:  # the SDK raises on some malformed values
            errors = [f"{type(e).__name__}: {e}"]
        return [e.split(": ", 1)[1] if e.startswith("Region ") and ": " in e else e for e in errors]

    def summary(self) -> dict[str, Any]:
        return {n: {"tag": c.tag, "to_name": list(c.to_name), "labels": list(c.labels)}
                for n, c in sorted(self.controls.items())}
