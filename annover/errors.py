"""One exception tree for annover; every class carries the exit code the CLI returns.

The CLI prints ``Error: <message> — <hint>`` on one line for any ``AnnoverError``;
the library never prints and never raises click exceptions.
"""

from __future__ import annotations

import math
import os
import reprlib


class AnnoverError(Exception):
    """Root of every error annover raises on purpose."""

    exit_code = 1
    #: what a command did before it failed, where it reports that (the partial result ``--json`` prints)
    result: object = None

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class UsageError(AnnoverError):
    """Wrong arguments or options (exit 2, like click)."""

    exit_code = 2


class InputError(AnnoverError):
    """A user file is unreadable, malformed or of the wrong shape."""

    exit_code = 3

    def __str__(self) -> str:
        # one line, whatever the file held: a column name or a label with a newline is shown escaped
        return super().__str__().replace("\r", "\\r").replace("\n", "\\n")


class ValidationError(InputError):
    """Labels or controls the labeling config does not allow."""

    exit_code = 4


class ConfigError(InputError):
    """A labeling config that is not XML or not a valid Label Studio config."""

    exit_code = 5


class NotARepoError(AnnoverError):
    """No annover repository here, or one in a state annover will not touch."""

    exit_code = 6


class NotWritableError(NotARepoError):
    """A write the machine refused (a full disk, a quota, a file-size limit, a read-only file
    system, no permission), exit 6: ``filename`` the file or folder it names (None: not known),
    ``errno`` its errno; the ``OSError`` is its ``__cause__``. What the command had written that
    no commit names is gone already: the repository is as it was."""

    def __init__(self, filename: "str | None", strerror: str, errno: "int | None", hint: "str | None") -> None:
        super().__init__(f"{filename or 'a file'}: {strerror}", hint)
        self.filename, self.strerror, self.errno = filename, strerror, errno

    def __str__(self) -> str:
        # one line, whatever the file's name holds (the CLI shows a newline in it as \x0a)
        return super().__str__().replace("\n", "\\x0a")


class RevisionError(AnnoverError):
    """A revision that names no version, or more than one."""

    exit_code = 7


class AmbiguousRevisionWarning(UserWarning):
    """A revision that names a tag and a git branch both (``v3`` after ``git branch v3``): annover
    takes the tag, as git does, and says so once (git's ``refname 'v3' is ambiguous``)."""


class ObjectError(AnnoverError):
    """An object is missing or fails its hash check (corrupt store), or a record, manifest, DVC
    pointer or DVC listing does not hold what annover wrote (tampered: refused before anything is
    written)."""

    exit_code = 8


class LockError(AnnoverError):
    """Another annover process holds the repository lock, or a ref moved under us."""

    exit_code = 9


class RemoteError(AnnoverError):
    """The DVC remote failed (push, pull, status)."""

    exit_code = 10


class RemoteUnreachableError(RemoteError):
    """The DVC remote did not answer within the timeout, or refused the connection (exit 10)."""


class LabelStudioError(AnnoverError):
    """Label Studio answered with an error we do not map more precisely."""

    exit_code = 11


class LabelStudioServerError(LabelStudioError):
    """Label Studio failed on its side (HTTP 5xx): not a refusal a smaller request could avoid (exit 11)."""


class LabelStudioConnectionError(LabelStudioError):
    """Label Studio is down or unreachable."""

    exit_code = 12


class LabelStudioAuthError(LabelStudioError):
    """Label Studio refused the API key."""

    exit_code = 13


class NotFoundError(AnnoverError):
    """A named dataset (Label Studio project) or file does not exist."""

    exit_code = 14


class InterruptedPartway(KeyboardInterrupt):
    """A Ctrl-C after part of the work reached a server (some of a push's batches): a
    KeyboardInterrupt still (exit 130, ``except KeyboardInterrupt`` catches it), which says
    what was done and how to finish, where a plain one leaves the user guessing."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}"


#: Exit codes as documented in the README; a test keeps both in step.
EXIT_CODES: dict[int, str] = {
    0: "success (also: nothing changed, nothing to do)",
    1: "unexpected error (a bug: please report it) / differences found with `diff --exit-code`",
    UsageError.exit_code: "usage error: bad arguments or options",
    InputError.exit_code: "bad input file: unreadable, malformed, wrong shape",
    ValidationError.exit_code: "labels or controls not allowed by the labeling config",
    ConfigError.exit_code: "labeling config is not valid XML or not a valid Label Studio config",
    NotARepoError.exit_code: "not an annover repository, or the repository is in a bad state (also: one that cannot "
                             "be written)",
    RevisionError.exit_code: "unknown or ambiguous revision",
    ObjectError.exit_code: "object missing locally or corrupt (also: a tampered record, manifest, DVC pointer or "
                           "listing, refused before anything is written)",
    LockError.exit_code: "repository is locked by another annover process",
    RemoteError.exit_code: "DVC remote error or unreachable remote (push, pull, status; `--timeout`; also: the "
                           "remote does not hold what a push sent, or DVC cannot check a pulled file out)",
    LabelStudioError.exit_code: "Label Studio returned an error",
    LabelStudioConnectionError.exit_code: "Label Studio is unreachable",
    LabelStudioAuthError.exit_code: "Label Studio refused the API key",
    NotFoundError.exit_code: "dataset (project) or file not found",
}


class GitError(AnnoverError):
    """git or DVC failed in a way annover cannot explain more precisely."""

    exit_code = 15


EXIT_CODES[GitError.exit_code] = "git or DVC failed (the message shows their output)"


class GitNoRoomError(GitError, NotWritableError):
    """A write git itself could not make for want of room (a full disk, a quota): exit 6 and a
    :class:`NotWritableError` naming git's folder, as annover's own writes the machine refuses are
    (``__cause__``: an ``OSError`` of that errno and folder); a :class:`GitError` to the code that takes
    back what a commit git refused had written."""

    exit_code = NotWritableError.exit_code


class MergeConflictError(AnnoverError):
    """``annover merge`` found changes it cannot combine: tasks (or the labeling config, or the
    source data) both sides changed differently, or files of the user's that git cannot merge.
    Nothing was written. ``result`` holds what the merge found (its ``conflicts``)."""

    exit_code = 16

    def __init__(self, message: str, hint: str | None = None, result: object = None) -> None:
        super().__init__(message, hint)
        self.result = result


EXIT_CODES[MergeConflictError.exit_code] = ("merge conflicts: both sides changed the same task (or config, or "
                                            "source data) differently, or git cannot merge a file; nothing written")


def env_seconds(name: str, default: float) -> float:
    """Seconds from the environment variable ``name`` (``default`` when unset or empty): a
    number above 0, else a UsageError naming the variable (exit 2)."""
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise UsageError(f"{name}={raw!r} is not a number of seconds above 0",
                         f"set it to a number, e.g. {name}={default:g}, or unset it")
    return seconds


#: repr bounded in depth and length: a value quoted from a hostile file (a YAML alias nested a
#: million times over, a list of a million items) is not walked whole; a text is kept whole up to
#: a length no error quotes, so that :func:`shown` cuts it at its end, as ``repr(v)[:limit]``
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict, _REPR.maxstring, _REPR.maxother = 3, 6, 6, 1000, 1000


def shown(v: object, limit: int = 70) -> str:
    """``v`` as an error quotes it: its repr, bounded (see :data:`_REPR`) and cut to ``limit``
    characters, so that the error stays one short line."""
    r = _REPR.repr(v)
    return r if len(r) <= limit else r[:limit - 3] + "..."
