"""``annover log``'s filters, as git log's: ``--author``, ``--grep``, ``--since`` / ``--until``.

A version passes when every filter given matches it: its recorded author (``Name <email>``, as git's
``--author`` reads a commit's) and its message searched with a regular expression (``-i``: in any
case), and its ``created_at`` within the dates. The filters pick first, then ``-n`` cuts, as in git.

Dates are those git users type: an ISO date or time (``2026-03-01``, ``2026-03-01T14:00``, with an
offset or in the local zone as git reads one without), ``now``, ``today`` (since midnight),
``yesterday`` (a day ago) and ``N.UNIT.ago`` / ``"N UNIT ago"`` with seconds to weeks. A date alone
is the start of that day for ``since`` and its end for ``until``, so ``--until 2026-03-01`` keeps that
day. Months and years (whose length git reads from the calendar) and git's other forms are refused in
one line, naming what is taken, rather than read as something else.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from annover.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from annover.store.versions import Version

__all__ = ["LogFilter", "parse_date"]

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400}
_AGO = re.compile(r"(\d+)[. ]+(second|minute|hour|day|week)s?[. ]+ago", re.IGNORECASE)
_TAKEN = ("an ISO date or time (2026-03-01, 2026-03-01T14:00), now, today, yesterday, "
          "or N.UNIT.ago / 'N UNIT ago' with seconds, minutes, hours, days or weeks (2.weeks.ago)")


def parse_date(text: str, option: str = "--since", now: _dt.datetime | None = None) -> _dt.datetime:
    """``text`` as an aware datetime; ``option`` says which end a date alone is (``--until``: its last
    second) and names the option in the refusal. ``now``: the clock, for the relative forms."""
    now = (now or _dt.datetime.now(_dt.timezone.utc)).astimezone()
    word = text.strip().lower()
    ago = _AGO.fullmatch(word)
    if ago:
        return now - _dt.timedelta(seconds=int(ago[1]) * _UNITS[ago[2]])
    if word in ("now", "yesterday"):
        return now - _dt.timedelta(days=1 if word == "yesterday" else 0)
    if word == "today":
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        when = _dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{option} {text!r}: not a date annover reads", f"give {_TAKEN}") from None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()) and option in ("--until", "--before"):
        when += _dt.timedelta(days=1, microseconds=-1)
    return when if when.tzinfo else when.astimezone()  # no offset: the local zone, as git reads it


def _pattern(text: str | None, option: str, ignore_case: bool) -> re.Pattern | None:
    """``text`` compiled as git log compiles ``--author`` / ``--grep`` (a regular expression searched
    anywhere, so a plain word is a substring); a broken one refused naming the option."""
    if text is None:
        return None
    try:
        return re.compile(text, re.IGNORECASE if ignore_case else 0)
    except re.error as e:
        raise UsageError(f"{option} {text!r} is not a regular expression: {e}",
                         "escape special characters with \\ (a plain word matches as a substring)") from None


@dataclass(frozen=True)
class LogFilter:
    """The filters of one ``log``; built (and checked) by :meth:`of` before any version is read."""

    author: re.Pattern | None = None
    grep: re.Pattern | None = None
    since: _dt.datetime | None = None
    until: _dt.datetime | None = None

    @classmethod
    def of(cls, author: str | None = None, grep: str | None = None, since: str | _dt.datetime | None = None,
           until: str | _dt.datetime | None = None, ignore_case: bool = False) -> "LogFilter":
        """The filters from what a user gives (dates as text or datetimes, a naive one in the local zone)."""
        def when(d: str | _dt.datetime | None, option: str) -> _dt.datetime | None:
            if d is None or isinstance(d, _dt.datetime):
                return d if d is None or d.tzinfo else d.astimezone()
            return parse_date(d, option)
        return cls(_pattern(author, "--author", ignore_case), _pattern(grep, "--grep", ignore_case),
                   when(since, "--since"), when(until, "--until"))

    def __bool__(self) -> bool:
        return any(x is not None for x in (self.author, self.grep, self.since, self.until))

    def matches(self, v: "Version") -> bool:
        """Whether version ``v`` passes every filter given (one with no date passes no date filter)."""
        if self.author and not self.author.search(v.author):
            return False
        if self.grep and not self.grep.search(v.message):
            return False
        if self.since is None and self.until is None:
            return True
        try:
            made = _dt.datetime.fromisoformat(v.created_at)
        except ValueError:
            return False
        made = made if made.tzinfo else made.replace(tzinfo=_dt.timezone.utc)
        return (self.since is None or made >= self.since) and (self.until is None or made <= self.until)

    def pick(self, versions: "Iterable[Version]", limit: int | None = None) -> "list[Version]":
        """The versions that pass, in their order, at most ``limit`` (filters first, then ``-n``)."""
        out = [v for v in versions if self.matches(v)]
        return out[:limit] if limit is not None else out
