"""Time handling: everything is stored in UTC and shown in the configured zone.

"now" is always passed in (``--now`` on the CLI) so that a scenario can be replayed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import overload
from zoneinfo import ZoneInfo

from followup.errors import InvalidInput

#: The years a typed date or time may fall in. Far outside them a date is a typo (0001-01-01,
#: 2062 for 2026), and near datetime's own limits converting to UTC overflows.
FIRST_YEAR = 1900
LAST_YEAR = 2199
_ISO_HINT = "expected ISO 8601 such as 2026-05-01 or 2026-05-01T09:30+08:00"


def utcnow() -> datetime:
    return datetime.now(UTC)


def _in_range(value: date, text: str, what: str) -> None:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise InvalidInput(f"bad {what} {text!r}: expected a year from {FIRST_YEAR} to {LAST_YEAR}")


def parse_instant(text: str, zone: ZoneInfo, *, what: str = "time") -> datetime:
    """Parse ISO 8601 (``2026-05-01``, ``2026-05-01T09:30``, ``...+08:00``) into an aware UTC datetime.

    A date alone means the start of that day, and a time without offset means the configured zone.
    """
    raw = text.strip()
    try:
        if len(raw) == 10:
            parsed = datetime.combine(date.fromisoformat(raw), time())
        else:
            parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"bad {what} {text[:60]!r}: {_ISO_HINT}") from None
    _in_range(parsed, text, what)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):  # an offset that takes it past datetime's range
        raise InvalidInput(f"bad {what} {text!r}: {_ISO_HINT}") from None


def parse_day(text: str, *, what: str = "date") -> date:
    """Parse an ISO 8601 calendar date (``2026-05-01``)."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"bad {what} {text[:60]!r}: expected an ISO 8601 date such as 2026-05-01"
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
