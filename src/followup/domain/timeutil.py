"""Time handling: everything is stored in UTC and shown in the configured zone.

"now" is always passed in (``--now`` on the CLI) so that a scenario can be replayed.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time
from typing import overload
from zoneinfo import ZoneInfo

from followup.domain.validate import term
from followup.errors import InvalidInput
from followup.i18n import _

#: The years a typed date or time may fall in. Far outside them a date is a typo (0001-01-01,
#: 2062 for 2026), and near datetime's own limits converting to UTC overflows.
FIRST_YEAR = 1900
LAST_YEAR = 2199

#: a day as a county writes it: 2026-11-20, 2026/11/20, 2026.11.20 (one separator throughout) or
#: 2026年11月20日 (号 too), month and day with one or two digits
_DAY_RE = re.compile(
    r"(?P<y>[0-9]{4})(?:(?P<sep>[-/.])(?P<m>[0-9]{1,2})(?P=sep)(?P<d>[0-9]{1,2})"
    r"|\s*年\s*(?P<cm>[0-9]{1,2})\s*月\s*(?P<cd>[0-9]{1,2})\s*[日号]?)"
)
#: an optional time after the day: " 09:30", "T09:30:15", "9:30" (a full-width colon too, after NFKC)
_TIME_RE = re.compile(r"(?:\s*T\s*|\s+)(?P<H>[0-9]{1,2}):(?P<M>[0-9]{2})(?::(?P<S>[0-9]{2}))?")


def utcnow() -> datetime:
    return datetime.now(UTC)


def _in_range(value: date, text: str, what: str) -> None:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise InvalidInput(
            _("bad {what} {value}: expected a year from {first} to {last}").format(
                what=what, value=repr(text[:60]), first=FIRST_YEAR, last=LAST_YEAR
            )
        )


def _bad_time(text: str, what: str) -> InvalidInput:
    return InvalidInput(
        _(
            "bad {what} {value}: expected a date such as 2026-11-20 or a time such as 2026-11-20 09:30 "
            "(or ISO 8601 with an offset)"
        ).format(what=what, value=repr(text[:60]))
    )


def _typed(text: str) -> str:
    """What was typed, with full-width digits and punctuation made plain (２０２６／１１／２０)."""
    return unicodedata.normalize("NFKC", text).strip()


def _day_of(match: re.Match[str]) -> date:
    month = match.group("m") or match.group("cm")
    day = match.group("d") or match.group("cd")
    return date(int(match.group("y")), int(month), int(day))


def parse_instant(text: str, zone: ZoneInfo, *, what: str | None = None) -> datetime:
    """An instant as typed, as an aware UTC datetime: a day in any form :func:`parse_day` takes, with
    an optional time (``2026-11-20 09:30``, ``2026年11月20日 9:30``), or ISO 8601 with an offset
    (``2026-11-20T09:30+08:00``). A day alone means the start of that day, and a time without offset
    the configured zone. ``what``: what the value is, for an error (translated or marked; default time)."""
    what = term(what) if what else _("time")
    raw = _typed(text)
    try:
        day = _DAY_RE.match(raw)
        rest = _TIME_RE.fullmatch(raw, day.end()) if day else None
        if day and (day.end() == len(raw) or rest):
            clock = time(int(rest["H"]), int(rest["M"]), int(rest["S"] or 0)) if rest else time()
            parsed = datetime.combine(_day_of(day), clock)
        else:
            parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise _bad_time(text, what) from None
    _in_range(parsed, text, what)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):  # an offset that takes it past datetime's range
        raise _bad_time(text, what) from None


def parse_day(text: str, *, what: str | None = None) -> date:
    """A calendar day as typed: ``2026-11-20``, ``2026/11/20``, ``2026.11.20``, ``2026年11月20日``."""
    what = term(what) if what else _("date")
    raw = _typed(text)
    match = _DAY_RE.fullmatch(raw)
    try:
        if match is None:
            raise ValueError(raw)
        day = _day_of(match)
    except ValueError:
        raise InvalidInput(
            _(
                "bad {what} {value}: expected a date such as 2026-11-20, 2026/11/20, 2026.11.20 "
                "or 2026年11月20日"
            ).format(what=what, value=repr(text[:60]))
        ) from None
    _in_range(day, text, what)
    return day


def as_utc(value: datetime) -> datetime:
    """Stored datetimes come back naive from SQLite; they are UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@overload
def in_zone(value: datetime, zone: ZoneInfo) -> datetime: ...
@overload
def in_zone(value: None, zone: ZoneInfo) -> None: ...
def in_zone(value: datetime | None, zone: ZoneInfo) -> datetime | None:
    """A stored instant as an aware datetime in the configured zone (None stays None)."""
    return None if value is None else as_utc(value).astimezone(zone)


def local_day(value: datetime, zone: ZoneInfo) -> date:
    """The calendar day in the configured zone on which an instant falls."""
    return as_utc(value).astimezone(zone).date()


def show(value: datetime | None, zone: ZoneInfo) -> str | None:
    """ISO 8601 in the configured zone, to the second."""
    if value is None:
        return None
    return as_utc(value).astimezone(zone).isoformat(timespec="seconds")


def show_short(value: datetime | None, zone: ZoneInfo) -> str:
    """``2026-05-01 09:30`` in the configured zone, for tables."""
    if value is None:
        return ""
    return as_utc(value).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def start_of_day(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
